import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { findUnknownGeKey, hrTimeToMillis, isGravityRecord, nearestGeKey } from '../../src/mapping/detect.js';

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

  test('is false without ge.* keys and for undefined attributes', () => {
    assert.equal(isGravityRecord(undefined), false);
    assert.equal(isGravityRecord({}), false);
    assert.equal(isGravityRecord({ 'http.route': '/', client_id: 'c', 'gen.ai': 'x', ge: 1 }), false);
  });

  test('is true for a ge.* key that is not part of the contract, so the typo is reported, not ignored', () => {
    for (const key of ['ge.clientid', 'ge.user_opp', 'ge.event', 'ge.other']) assert.equal(isGravityRecord({ [key]: 'x' }), true, key);
  });
});

describe('findUnknownGeKey', () => {
  test('finds the first ge.* key outside the contract, and nothing in a clean map', () => {
    assert.equal(findUnknownGeKey({ 'ge.client_id': 'c', amount: 1, 'ge.clientid': 'c' }), 'ge.clientid');
    assert.equal(findUnknownGeKey({ 'ge.client_id': 'c', 'ge.user_op': 'set', 'http.route': '/' }), undefined);
    assert.equal(findUnknownGeKey(undefined), undefined);
  });
});

describe('nearestGeKey', () => {
  const cases: Array<[string, string]> = [
    ['ge.clientid', 'ge.client_id'],
    ['ge.ClientId', 'ge.client_id'],
    ['ge.client-id', 'ge.client_id'],
    ['ge.user_opp', 'ge.user_op'],
    ['ge.userop', 'ge.user_op'],
    ['ge.event', 'ge.event_name'],
    ['ge.eventName', 'ge.event_name'],
    ['ge.client_ipp', 'ge.client_ip'],
    ['ge.client_agent', 'ge.client_id'],
    ['ge.timefree', 'ge.time_free'],
    ['ge.time', 'ge.time_free'],
  ];
  for (const [typo, known] of cases) {
    test(`suggests ${known} for ${typo}`, () => assert.equal(nearestGeKey(typo), known));
  }
});

describe('hrTimeToMillis', () => {
  test('converts an HrTime to integer epoch milliseconds, dropping sub-millisecond nanos', () => {
    assert.equal(hrTimeToMillis([1_700_000_000, 123_999_999]), 1_700_000_000_123);
    assert.equal(hrTimeToMillis([0, 0]), 0);
  });
});
