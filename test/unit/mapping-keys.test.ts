/** The memoised Gravity key check agrees with the key pattern, before and after a key is remembered. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isValidGravityKey } from '../../src/mapping/keys.js';
import { GRAVITY_KEY_PATTERN } from '../../src/mapping/rules.js';

describe('isValidGravityKey', () => {
  test('answers like GRAVITY_KEY_PATTERN for valid and invalid keys, on first and repeated calls', () => {
    const keys = ['amount', '$lib', 'a'.repeat(50), 'a'.repeat(51), '1st', 'http.route', 'has space', '', 'ok_2', 'Ω'];
    for (let round = 0; round < 3; round++) {
      for (const key of keys) assert.equal(isValidGravityKey(key), GRAVITY_KEY_PATTERN.test(key), `${JSON.stringify(key)} round ${round}`);
    }
  });

  test('keeps answering correctly past the memo bound', () => {
    for (let i = 0; i < 5_000; i++) assert.equal(isValidGravityKey(`key_${i}`), true);
    assert.equal(isValidGravityKey('key_4999'), true);
    assert.equal(isValidGravityKey('bad key'), false);
  });
});
