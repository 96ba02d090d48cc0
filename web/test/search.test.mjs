// How the profile explorer reads its search box.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifySearch, traitCondition, profilePath } from '../.test-build/search.js';

test('profile ids and type:value identifiers are looked up as they are', () => {
  assert.deepEqual(classifySearch(' p_12 '), { kind: 'refs', refs: ['p_12'] });
  assert.deepEqual(classifySearch('email:jane@example.com'), { kind: 'refs', refs: ['email:jane@example.com'] });
  assert.deepEqual(classifySearch('anonymous_id:a:b'), { kind: 'refs', refs: ['anonymous_id:a:b'] });
});

test('a plain email tries email then user_id; anything else user_id then anonymous_id', () => {
  assert.deepEqual(classifySearch('Jane@Example.com'), { kind: 'refs', refs: ['email:Jane@Example.com', 'user_id:Jane@Example.com'] });
  assert.deepEqual(classifySearch('42'), { kind: 'refs', refs: ['user_id:42', 'anonymous_id:42'] });
  assert.deepEqual(classifySearch('p_0'), { kind: 'refs', refs: ['user_id:p_0', 'anonymous_id:p_0'] });
  assert.deepEqual(classifySearch('   '), { kind: 'empty' });
});

test('trait searches become a condition', () => {
  assert.deepEqual(classifySearch('trait.plan = "pro"'),
    { kind: 'trait', name: 'plan', value: 'pro', condition: 'trait.plan = "pro"' });
  assert.deepEqual(classifySearch('trait.plan=pro'),
    { kind: 'trait', name: 'plan', value: 'pro', condition: 'trait.plan = "pro"' });
  assert.deepEqual(classifySearch('trait."first name" = "Ada \\"A\\""'),
    { kind: 'trait', name: 'first name', value: 'Ada "A"', condition: 'trait."first name" = "Ada \\"A\\""' });
  assert.equal(classifySearch('trait.plan').kind, 'invalid');
  assert.equal(classifySearch('trait.plan = "unterminated').kind, 'invalid');
});

test('trait conditions quote what the condition language cannot take bare', () => {
  assert.equal(traitCondition('address.city', 'Köln'), 'trait.address.city = "Köln"');
  assert.equal(traitCondition('first name', 'x'), 'trait."first name" = "x"');
});

test('a reference is one encoded path segment', () => {
  assert.equal(profilePath('email:a/b@example.com'), '/v1/profiles/email%3Aa%2Fb%40example.com');
});
