// Placing the server's condition errors in the builder's text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { conditionErrorPlace, conditionErrorText } from '../.test-build/condition.js';

const MESSAGE = "condition: line 1, column 14: expected a value after '=': a string in double quotes, a number, true, false or null, found the end of the condition";

test('the line and column become an offset and a marker', () => {
  const place = conditionErrorPlace(MESSAGE, 'trait.plan = ');
  assert.deepEqual(place, { line: 1, column: 14, offset: 13, lineText: 'trait.plan = ', marker: '             ^' });
  assert.equal(conditionErrorText(MESSAGE).startsWith('expected a value'), true);
});

test('later lines and characters outside the BMP are counted as the server counts them', () => {
  const text = 'trait.plan = "pro"\r\n and trait.n = "😀" foo';
  const place = conditionErrorPlace("condition: line 2, column 20: expected ..., found 'foo'", text);
  assert.equal(place.line, 2);
  assert.equal(text.slice(place.offset, place.offset + 3), 'foo');
  assert.equal(place.marker, ' '.repeat(19) + '^');
});

test('a message without a place answers null', () => {
  assert.equal(conditionErrorPlace("computed.ltv: there is no computed trait named 'ltv'; define it first", 'computed.ltv > 1'), null);
});
