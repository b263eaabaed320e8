import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mapLogRecord } from '../../src/mapping/map-log-record.js';
import type { MapResult } from '../../src/mapping/map-record.js';
import { VERSION } from '../../src/common/version.js';
import { createMappingContext, createTestLogRecord, createTrackRecord, createUserOpRecord } from '../helpers/record-builders.js';

const T = Date.UTC(2030, 0, 2, 3, 4, 5, 678);
const ctx = createMappingContext({ now: () => T });

function mapped(result: MapResult | undefined): Extract<MapResult, { ok: true }>['value'] {
  assert.ok(result !== undefined, 'expected an analytics record');
  assert.ok(result.ok, `expected a record, got rejection ${result.ok ? '' : result.reason}`);
  return result.value;
}

describe('mapLogRecord: track records', () => {
  test('maps eventName, attributes and the record timestamp to a track event with $lib first', () => {
    const record = createTrackRecord('user-42', { amount: 30, item: 'sword' }, { eventName: 'purchase', timestamp: T });
    assert.deepEqual(mapped(mapLogRecord(record, ctx)), {
      clientId: 'user-42',
      clientIp: undefined,
      clientUa: undefined,
      event: {
        type: 'track',
        event: 'purchase',
        time: T,
        time_free: false,
        properties: { $lib: 'node', $lib_version: VERSION, amount: 30, item: 'sword' },
      },
    });
    assert.deepEqual(Object.keys(mapped(mapLogRecord(record, ctx)).event.properties).slice(0, 2), ['$lib', '$lib_version']);
  });

  test('time is the record timestamp in integer epoch milliseconds (sub-millisecond part dropped)', () => {
    const record = createTestLogRecord({ eventName: 'e', timestamp: T + 0.75, attributes: { 'ge.client_id': 'c' } });
    assert.equal(mapped(mapLogRecord(record, ctx)).event.time, T);
  });

  test('ge.event_name wins over the record eventName', () => {
    const record = createTrackRecord('c', { 'ge.event_name': 'checkout' }, { eventName: 'ignored' });
    assert.equal(mapped(mapLogRecord(record, ctx)).event.event, 'checkout');
  });

  test('a dotted event name has its dots turned into underscores', () => {
    const record = createTrackRecord('c', {}, { eventName: 'shop.order.paid' });
    assert.equal(mapped(mapLogRecord(record, ctx)).event.event, 'shop_order_paid');
  });

  test('properties are the body map plus non-ge attributes, and an attribute wins over a body key', () => {
    const record = createTestLogRecord({
      eventName: 'e',
      timestamp: T,
      body: { plan: 'body-plan', nested: { a: [1, { b: true }] }, only_body: 1 },
      attributes: { 'ge.client_id': 'c', plan: 'attr-plan' },
    });
    assert.deepEqual(mapped(mapLogRecord(record, ctx)).event.properties, {
      $lib: 'node',
      $lib_version: VERSION,
      plan: 'attr-plan',
      nested: { a: [1, { b: true }] },
      only_body: 1,
    });
  });

  test('dotted property keys become underscored keys (http.route → http_route)', () => {
    const record = createTrackRecord('c', { 'http.route': '/cart', 'http.response.status_code': 200 });
    const { properties } = mapped(mapLogRecord(record, ctx)).event;
    assert.equal(properties['http_route'], '/cart');
    assert.equal(properties['http_response_status_code'], 200);
    assert.equal('http.route' in properties, false);
  });

  test('a key written with underscores wins over the dotted key that converts to it', () => {
    const record = createTrackRecord('c', { 'a.b': 'dotted', a_b: 'exact' });
    assert.equal(mapped(mapLogRecord(record, ctx)).event.properties['a_b'], 'exact');
  });

  test('$lib and $lib_version cannot be overwritten on a track record', () => {
    const record = createTestLogRecord({
      eventName: 'e',
      body: { $lib_version: '9.9.9' },
      attributes: { 'ge.client_id': 'c', $lib: 'python' },
    });
    const { properties } = mapped(mapLogRecord(record, ctx)).event;
    assert.equal(properties['$lib'], 'node');
    assert.equal(properties['$lib_version'], VERSION);
  });

  test('ge.* attributes never become properties', () => {
    const record = createTrackRecord('c', { 'ge.client_ip': '10.0.0.1', 'ge.client_ua': 'UA/1', 'ge.time_free': true, x: 1 });
    assert.deepEqual(Object.keys(mapped(mapLogRecord(record, ctx)).event.properties), ['$lib', '$lib_version', 'x']);
  });

  test('ge.client_ip, ge.client_ua and ge.time_free are carried to the record', () => {
    const record = createTrackRecord('c', { 'ge.client_ip': '10.0.0.1', 'ge.client_ua': 'UA/1', 'ge.time_free': true });
    const value = mapped(mapLogRecord(record, ctx));
    assert.equal(value.clientIp, '10.0.0.1');
    assert.equal(value.clientUa, 'UA/1');
    assert.equal(value.event.time_free, true);
  });

  test('a body that is not a map (string log message) contributes no properties', () => {
    const record = createTestLogRecord({ eventName: 'e', body: 'user bought a sword', attributes: { 'ge.client_id': 'c' } });
    assert.deepEqual(mapped(mapLogRecord(record, ctx)).event.properties, { $lib: 'node', $lib_version: VERSION });
  });

  test('null and undefined property values: null is kept, undefined is dropped', () => {
    const record = createTestLogRecord({ eventName: 'e', body: { gone: undefined, kept: null }, attributes: { 'ge.client_id': 'c' } });
    assert.deepEqual(mapped(mapLogRecord(record, ctx)).event.properties, { $lib: 'node', $lib_version: VERSION, kept: null });
  });
});

describe('mapLogRecord: user operations', () => {
  const cases: Array<[string, string, Record<string, unknown>]> = [
    ['set', 'profile_set', { $name: 'Alice', age: 30, tags: ['a'] }],
    ['set_once', 'profile_set_once', { first_channel: 'organic' }],
    ['increment', 'profile_increment', { login_count: 1, coins: -2.5 }],
    ['max', 'profile_number_max', { max_level: 10 }],
    ['min', 'profile_number_min', { min_latency_ms: 35 }],
    ['append', 'profile_append', { tags: ['blue', 'blue'] }],
    ['uniq_append', 'profile_uniq_append', { tags: ['red'] }],
  ];
  for (const [op, wire, properties] of cases) {
    test(`ge.user_op ${op} → profile record ${wire} with the body as properties and no $lib`, () => {
      const record = createTestLogRecord({ timestamp: T, body: properties as never, attributes: { 'ge.client_id': 'c', 'ge.user_op': op } });
      assert.deepEqual(mapped(mapLogRecord(record, ctx)).event, {
        type: 'profile',
        event: wire,
        time: T,
        time_free: false,
        properties,
      });
    });
  }

  test('delete sends {} whatever the body and attributes hold', () => {
    const record = createUserOpRecord('c', 'delete', { name: 'x' }, { extra: 1 });
    assert.deepEqual(mapped(mapLogRecord(record, ctx)).event.properties, {});
    assert.equal(mapped(mapLogRecord(record, ctx)).event.event, 'profile_delete');
  });

  test('unset from a list of keys sends {key: 0} per key, dotted keys converted', () => {
    const record = createUserOpRecord('c', 'unset', ['tags', 'min_latency_ms', 'a.b']);
    assert.deepEqual(mapped(mapLogRecord(record, ctx)).event, {
      type: 'profile',
      event: 'profile_unset',
      time: mapped(mapLogRecord(record, ctx)).event.time,
      time_free: false,
      properties: { tags: 0, min_latency_ms: 0, a_b: 0 },
    });
  });

  test('unset from a map sends each of its keys with 0', () => {
    const record = createUserOpRecord('c', 'unset', { tags: 'whatever', level: 3 });
    assert.deepEqual(mapped(mapLogRecord(record, ctx)).event.properties, { tags: 0, level: 0 });
  });

  test('unset that names nothing is rejected', () => {
    const result = mapLogRecord(createUserOpRecord('c', 'unset', []), ctx);
    assert.ok(result !== undefined && !result.ok);
    assert.equal(result.code, 'invalid_operation_value');
  });

  test('user operations take their properties from attributes too (attribute wins)', () => {
    const record = createUserOpRecord('c', 'set', { plan: 'free', seats: 1 }, { plan: 'pro' });
    assert.deepEqual(mapped(mapLogRecord(record, ctx)).event.properties, { plan: 'pro', seats: 1 });
  });
});

describe('mapLogRecord: what is not analytics', () => {
  test('a record without any ge.* attribute is ignored (undefined)', () => {
    assert.equal(mapLogRecord(createTestLogRecord({ eventName: 'e', attributes: { user: 'x' } }), ctx), undefined);
    assert.equal(mapLogRecord(createTestLogRecord({ body: 'plain log line' }), ctx), undefined);
  });

  test('a record with other ge.* attributes but no ge.client_id is rejected as missing the client id', () => {
    const result = mapLogRecord(createTestLogRecord({ attributes: { 'ge.user_op': 'set' } }), ctx);
    assert.ok(result !== undefined && !result.ok);
    assert.equal(result.code, 'missing_client_id');
    assert.equal(result.field, 'ge.client_id');
  });
});

interface RejectionCase {
  name: string;
  record: () => ReturnType<typeof createTestLogRecord>;
  code: string;
  field: string;
  /** Text the reason must contain besides the field (the value's type, the key...). */
  mentions?: string;
}

/** One of each rejection kind; shared shape with the integration test of the same list. */
const rejectionCases: RejectionCase[] = [
  { name: 'empty ge.client_id', record: () => createTrackRecord(''), code: 'invalid_client_id', field: 'ge.client_id', mentions: 'empty' },
  { name: 'blank ge.client_id', record: () => createTrackRecord('   '), code: 'invalid_client_id', field: 'ge.client_id' },
  {
    name: 'non-string ge.client_id',
    record: () => createTestLogRecord({ eventName: 'e', attributes: { 'ge.client_id': 42 } }),
    code: 'invalid_client_id',
    field: 'ge.client_id',
    mentions: 'number',
  },
  { name: 'unknown ge.user_op', record: () => createUserOpRecord('c', 'inc', { a: 1 }), code: 'invalid_user_op', field: 'ge.user_op', mentions: '"inc"' },
  {
    name: 'track record without an event name',
    record: () => createTestLogRecord({ attributes: { 'ge.client_id': 'c', a: 1 } }),
    code: 'missing_event_name',
    field: 'ge.event_name',
  },
  {
    name: 'eventName that does not fit the key rule after the dot rule',
    record: () => createTrackRecord('c', {}, { eventName: 'order-paid' }),
    code: 'invalid_event_name',
    field: 'event name',
    mentions: '"order-paid"',
  },
  {
    name: 'ge.event_name that does not fit the key rule',
    record: () => createTrackRecord('c', { 'ge.event_name': '1st_event' }),
    code: 'invalid_event_name',
    field: 'ge.event_name',
    mentions: '"1st_event"',
  },
  {
    name: 'non-string ge.event_name',
    record: () => createTrackRecord('c', { 'ge.event_name': 7 }),
    code: 'invalid_event_name',
    field: 'ge.event_name',
    mentions: 'number',
  },
  {
    name: 'event name longer than 50 characters',
    record: () => createTrackRecord('c', {}, { eventName: `e${'x'.repeat(50)}` }),
    code: 'invalid_event_name',
    field: 'event name',
  },
  { name: 'property key that does not fit', record: () => createTrackRecord('c', { 'bad key': 1 }), code: 'invalid_key', field: 'bad key' },
  { name: 'property key starting with a digit', record: () => createTrackRecord('c', { '9lives': 1 }), code: 'invalid_key', field: '9lives' },
  {
    name: 'non-numeric increment',
    record: () => createUserOpRecord('c', 'increment', { coins: '5' }),
    code: 'invalid_operation_value',
    field: 'coins',
    mentions: 'string',
  },
  { name: 'non-numeric max', record: () => createUserOpRecord('c', 'max', { level: true }), code: 'invalid_operation_value', field: 'level', mentions: 'boolean' },
  { name: 'non-numeric min', record: () => createUserOpRecord('c', 'min', { latency: [1] }), code: 'invalid_operation_value', field: 'latency', mentions: 'array' },
  { name: 'non-array append', record: () => createUserOpRecord('c', 'append', { tags: 'red' }), code: 'invalid_operation_value', field: 'tags', mentions: 'string' },
  {
    name: 'non-array uniq_append',
    record: () => createUserOpRecord('c', 'uniq_append', { tags: { a: 1 } }),
    code: 'invalid_operation_value',
    field: 'tags',
    mentions: 'object',
  },
  { name: 'NaN value', record: () => createTrackRecord('c', { amount: Number.NaN }), code: 'invalid_value', field: 'amount', mentions: 'NaN' },
  { name: 'Infinity value', record: () => createTrackRecord('c', { amount: Infinity }), code: 'invalid_value', field: 'amount', mentions: 'Infinity' },
  { name: '-Infinity value', record: () => createTrackRecord('c', { amount: -Infinity }), code: 'invalid_value', field: 'amount', mentions: '-Infinity' },
  {
    name: 'Uint8Array value',
    record: () => createTrackRecord('c', { blob: new Uint8Array([1, 2]) }),
    code: 'invalid_value',
    field: 'blob',
    mentions: 'Uint8Array',
  },
  {
    name: 'nested NaN inside the body',
    record: () => createTestLogRecord({ eventName: 'e', body: { order: { items: [{ price: Number.NaN }] } }, attributes: { 'ge.client_id': 'c' } }),
    code: 'invalid_value',
    field: 'order.items[0].price',
    mentions: 'NaN',
  },
  {
    name: 'non-boolean ge.time_free',
    record: () => createTrackRecord('c', { 'ge.time_free': 'yes' }),
    code: 'invalid_ge_attribute',
    field: 'ge.time_free',
    mentions: 'string',
  },
  { name: 'non-string ge.client_ip', record: () => createTrackRecord('c', { 'ge.client_ip': 10 }), code: 'invalid_ge_attribute', field: 'ge.client_ip', mentions: 'number' },
  { name: 'non-string ge.client_ua', record: () => createTrackRecord('c', { 'ge.client_ua': ['x'] }), code: 'invalid_ge_attribute', field: 'ge.client_ua', mentions: 'array' },
  {
    name: 'unset list with a non-string entry',
    record: () => createUserOpRecord('c', 'unset', ['ok', 3]),
    code: 'invalid_key',
    field: 'body[1]',
    mentions: 'number',
  },
];

describe('mapLogRecord: rejections name the field', () => {
  for (const c of rejectionCases) {
    test(`rejects ${c.name} with ${c.code} naming ${c.field}`, () => {
      const result = mapLogRecord(c.record(), ctx);
      assert.ok(result !== undefined, 'the record must count as analytics');
      assert.ok(!result.ok, 'the record must be rejected');
      assert.equal(result.code, c.code);
      assert.equal(result.field, c.field);
      assert.ok(result.reason.startsWith(`${c.field}: `), `reason starts with the field: ${result.reason}`);
      if (c.mentions !== undefined) assert.ok(result.reason.includes(c.mentions), `reason mentions ${c.mentions}: ${result.reason}`);
    });
  }
});

describe('mapLogRecord: ge.* keys outside the contract are rejected in every mode, with a suggestion', () => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['a typo of the client id alone', { 'ge.clientid': 'u' }, 'ge.client_id'],
    ['a typo of the operation beside a client id', { 'ge.client_id': 'u', 'ge.user_opp': 'set', plan: 'pro' }, 'ge.user_op'],
    ['a shortened event name', { 'ge.client_id': 'u', 'ge.event': 'purchase' }, 'ge.event_name'],
  ];
  for (const strictMode of [false, true]) {
    for (const [name, attributes, suggestion] of cases) {
      test(`${name} (${strictMode ? 'debug' : 'batch'} mode): unknown_ge_attribute, "did you mean ${suggestion}?"`, () => {
        const context = createMappingContext({ strict: strictMode, now: () => T });
        const typo = Object.keys(attributes).find((key) => key.startsWith('ge.') && key !== 'ge.client_id')!;
        const result = mapLogRecord(createTestLogRecord({ eventName: 'e', attributes: attributes as never, timestamp: T }), context);
        assert.ok(result !== undefined, 'a record with a ge.* key is analytics, not ignored');
        assert.ok(!result.ok);
        assert.equal(result.code, 'unknown_ge_attribute');
        assert.equal(result.field, typo);
        assert.equal(result.reason, `${typo}: not a ge.* attribute of the contract; did you mean ${suggestion}?`);
      });
    }
  }

  test('a ge.* typo in a body map is rejected too; a record without any ge.* key stays ignored', () => {
    const inBody = mapLogRecord(createTestLogRecord({ eventName: 'e', body: { 'ge.clientId': 'u' }, attributes: { 'ge.client_id': 'u' } }), ctx);
    assert.ok(inBody !== undefined && !inBody.ok);
    assert.equal(inBody.field, 'ge.clientId');
    assert.equal(mapLogRecord(createTestLogRecord({ eventName: 'e', attributes: { client_id: 'u', 'gen.ai': 1 } }), ctx), undefined);
  });
});

describe('mapLogRecord: strict (debug) mode', () => {
  const strict = createMappingContext({ strict: true, now: () => T });

  test('rejects a record outside the service time window unless ge.time_free is true', () => {
    const old = createTrackRecord('c', {}, { timestamp: T - 11 * 24 * 3600 * 1000 });
    const result = mapLogRecord(old, strict);
    assert.ok(result !== undefined && !result.ok);
    assert.equal(result.code, 'out_of_time_window');
    const freed = createTrackRecord('c', { 'ge.time_free': true }, { timestamp: T - 11 * 24 * 3600 * 1000 });
    assert.equal(mapped(mapLogRecord(freed, strict)).event.time_free, true);
  });

  test('accepts an old record in batch mode (the window is only checked in debug mode)', () => {
    const old = createTrackRecord('c', {}, { timestamp: T - 11 * 24 * 3600 * 1000 });
    assert.equal(mapped(mapLogRecord(old, ctx)).event.time, T - 11 * 24 * 3600 * 1000);
  });

  test('rejects an unknown ge.* attribute naming it, as in batch mode', () => {
    const result = mapLogRecord(createTrackRecord('c', { 'ge.clientid': 'typo' }, { timestamp: T }), strict);
    assert.ok(result !== undefined && !result.ok);
    assert.equal(result.code, 'unknown_ge_attribute');
    assert.equal(result.field, 'ge.clientid');
  });

  test('rejects a string over 2048 UTF-8 bytes and a list over 500 elements', () => {
    const long = mapLogRecord(createTrackRecord('c', { note: '好'.repeat(700) }, { timestamp: T }), strict);
    assert.ok(long !== undefined && !long.ok);
    assert.equal(long.field, 'note');
    const list = mapLogRecord(createTrackRecord('c', { ids: Array.from({ length: 501 }, (_, i) => i) }, { timestamp: T }), strict);
    assert.ok(list !== undefined && !list.ok);
    assert.equal(list.field, 'ids');
  });
});
