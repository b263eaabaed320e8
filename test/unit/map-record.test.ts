import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mapRecord, toGravityKey } from '../../src/mapping/map-record.js';
import type { RecordInput } from '../../src/mapping/map-record.js';
import { VERSION } from '../../src/common/version.js';
import { createMappingContext } from '../helpers/record-builders.js';

const ctx = createMappingContext();

function input(ge: Record<string, unknown>, sources: RecordInput['sources'], rest: Partial<RecordInput> = {}): RecordInput {
  return { ge: (key) => ge[key], sources, defaultEventName: 'evt', timeMillis: 1_700_000_000_123, ...rest };
}

describe('mapRecord', () => {
  test('later sources win over earlier ones and ge.* keys in sources are skipped', () => {
    const result = mapRecord(input({ 'ge.client_id': 'c' }, [{ a: 1, b: 1 }, undefined, { b: 2, 'ge.client_id': 'c' }]), ctx);
    assert.deepEqual(result, {
      ok: true,
      value: {
        clientId: 'c',
        clientIp: undefined,
        clientUa: undefined,
        event: {
          type: 'track',
          event: 'evt',
          time: 1_700_000_000_123,
          time_free: false,
          properties: { $lib: 'node', $lib_version: VERSION, a: 1, b: 2 },
        },
      },
    });
  });

  test('formats Date values as YYYY-MM-DD HH:mm:ss.SSS', () => {
    const date = new Date(2024, 1, 3, 4, 5, 6, 7);
    const result = mapRecord(input({ 'ge.client_id': 'c', 'ge.user_op': 'set' }, [{ signup: date }]), ctx);
    assert.ok(result.ok);
    assert.deepEqual(result.value.event.properties, { signup: '2024-02-03 04:05:06.007' });
  });

  test('does not mutate the source maps', () => {
    const source = { when: new Date(2024, 0, 1), nested: { gone: undefined, kept: 1 } };
    mapRecord(input({ 'ge.client_id': 'c' }, [source]), ctx);
    assert.ok(source.when instanceof Date);
    assert.ok('gone' in source.nested);
  });

  test('an unknown ge.user_op of another type names its type', () => {
    const result = mapRecord(input({ 'ge.client_id': 'c', 'ge.user_op': 3 }, []), ctx);
    assert.ok(!result.ok);
    assert.equal(result.code, 'invalid_user_op');
    assert.match(result.reason, /^ge\.user_op: unknown operation \(number\)/);
  });

  test('a prototype key is not a user operation', () => {
    const result = mapRecord(input({ 'ge.client_id': 'c', 'ge.user_op': 'toString' }, []), ctx);
    assert.ok(!result.ok);
    assert.equal(result.code, 'invalid_user_op');
  });
});

describe('toGravityKey', () => {
  test('turns every dot into an underscore and leaves other keys alone', () => {
    assert.equal(toGravityKey('http.route'), 'http_route');
    assert.equal(toGravityKey('a.b.c'), 'a_b_c');
    assert.equal(toGravityKey('$name'), '$name');
  });
});
