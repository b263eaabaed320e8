import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hrTimeToMillis, isGravityRecord } from '../../src/mapping/detect.js';

describe('isGravityRecord', () => {
  test('is true for attributes carrying ge.client_id', () => {
    assert.equal(isGravityRecord({ 'ge.client_id': 'c' }), true);
    assert.equal(isGravityRecord({ 'ge.client_id': '' }), true);
  });

  test('is true for any other ge.* key of the contract (so the missing id is reported)', () => {
    for (const key of ['ge.event_name', 'ge.user_op', 'ge.client_ip', 'ge.client_ua', 'ge.time_free']) {
      assert.equal(isGravityRecord({ [key]: 'x' }), true, key);
    }
  });

  test('is false without ge.* keys, for undefined attributes, and for unknown ge.* keys alone', () => {
    assert.equal(isGravityRecord(undefined), false);
    assert.equal(isGravityRecord({}), false);
    assert.equal(isGravityRecord({ 'http.route': '/', client_id: 'c' }), false);
    assert.equal(isGravityRecord({ 'ge.other': 'x' }), false);
  });
});

describe('hrTimeToMillis', () => {
  test('converts an HrTime to integer epoch milliseconds, dropping sub-millisecond nanos', () => {
    assert.equal(hrTimeToMillis([1_700_000_000, 123_999_999]), 1_700_000_000_123);
    assert.equal(hrTimeToMillis([0, 0]), 0);
  });
});
