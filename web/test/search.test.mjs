// How the profile explorer reads its search box.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifySearch, parseTraitValue, traitCondition, profilePath } from '../.test-build/search.js';

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

test('true, false, null and numbers are those values in the condition, not strings', () => {
  assert.deepEqual(classifySearch('trait.vip = true'), { kind: 'trait', name: 'vip', value: true, condition: 'trait.vip = true' });
  assert.deepEqual(classifySearch('trait.vip=false'), { kind: 'trait', name: 'vip', value: false, condition: 'trait.vip = false' });
  assert.deepEqual(classifySearch('trait.seats = 3'), { kind: 'trait', name: 'seats', value: { number: '3' }, condition: 'trait.seats = 3' });
  assert.equal(classifySearch('trait.balance = -12.5').condition, 'trait.balance = -12.5');
  assert.equal(classifySearch('trait.big = 1e21').condition, 'trait.big = 1e21', 'as typed');
  assert.equal(classifySearch('trait.manager = null').condition, 'trait.manager = null');
  // Quoted, they are strings; words that only look like numbers are strings too.
  assert.equal(classifySearch('trait.vip = "true"').condition, 'trait.vip = "true"');
  assert.equal(classifySearch('trait.seats = "3"').condition, 'trait.seats = "3"');
  assert.equal(classifySearch('trait.zip = 007').condition, 'trait.zip = "007"');
  assert.equal(classifySearch('trait.plan = True').condition, 'trait.plan = "True"');
});

test('the trait form\'s value reads the same way', () => {
  assert.equal(parseTraitValue('true'), true);
  assert.deepEqual(parseTraitValue(' 3 '), { number: '3' });
  assert.deepEqual(parseTraitValue('+3'), { number: '+3' });
  assert.equal(traitCondition('id', parseTraitValue('12345678901234567890')), 'trait.id = 12345678901234567890',
    'no digit lost to a double');
  assert.equal(parseTraitValue('"3"'), '3');
  assert.equal(parseTraitValue('pro plus'), 'pro plus');
  assert.equal(parseTraitValue('"unterminated'), undefined);
  assert.equal(traitCondition('vip', true), 'trait.vip = true');
  assert.equal(traitCondition('seats', 3), 'trait.seats = 3');
  assert.equal(traitCondition('plan', 'say "hi"\n'), 'trait.plan = "say \\"hi\\"\\n"');
});

test('trait conditions quote what the condition language cannot take bare', () => {
  assert.equal(traitCondition('address.city', 'Köln'), 'trait.address.city = "Köln"');
  assert.equal(traitCondition('first name', 'x'), 'trait."first name" = "x"');
});

test('a reference is one encoded path segment', () => {
  assert.equal(profilePath('email:a/b@example.com'), '/v1/profiles/email%3Aa%2Fb%40example.com');
});
