/**
 * GravityAnalytics: the log records it emits (through a real LoggerProvider into an in-memory exporter)
 * and the errors it throws on misuse.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { LoggerProvider, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { formatGravityDate, GravityAnalytics, GravityExportError, GravityValidationError } from '../../src/index.js';
import { mapLogRecord } from '../../src/mapping/map-log-record.js';
import { createFacadeOverMemory } from '../helpers/facade-memory.js';
import type { FacadeOverMemory } from '../helpers/facade-memory.js';
import { globalLogs, OTEL_LINE } from '../helpers/otel-line.js';
import { createMappingContext } from '../helpers/record-builders.js';

let facade: FacadeOverMemory;
let provider: LoggerProvider;
let ge: GravityAnalytics;

beforeEach(() => {
  facade = createFacadeOverMemory();
  ({ ge, provider } = facade);
});
afterEach(() => provider.shutdown());

function emitted(): ReadableLogRecord[] {
  return facade.records();
}

function only(): ReadableLogRecord {
  const records = emitted();
  assert.equal(records.length, 1);
  return records[0]!;
}

function millisOf(record: ReadableLogRecord): number {
  return record.hrTime[0] * 1000 + Math.floor(record.hrTime[1] / 1e6);
}

/** Asserts that `act` throws a GravityValidationError naming `field` with reason `reason`, and emits nothing. */
function assertRejected(act: () => void, field: string, reason: string): void {
  assert.throws(act, (error: unknown) => {
    assert.ok(error instanceof GravityValidationError, String(error));
    assert.ok(error instanceof GravityExportError);
    assert.equal(error.code, 'GRAVITY_VALIDATION_ERROR');
    assert.equal(error.field, field);
    assert.equal(error.reason, reason);
    return true;
  });
  assert.equal(emitted().length, 0, 'nothing is emitted on misuse');
}

describe('GravityAnalytics records', () => {
  it('track emits the event name, ge.client_id and the properties as the body', () => {
    ge.track('user-42', 'purchase', { amount: 30, cart: { items: [{ sku: 'a', qty: 1 }] } });

    const record = only();
    assert.equal(record.eventName, 'purchase');
    assert.deepEqual(record.attributes, { 'ge.client_id': 'user-42' });
    assert.deepEqual(record.body, { amount: 30, cart: { items: [{ sku: 'a', qty: 1 }] } });
    assert.ok(Math.abs(millisOf(record) - Date.now()) < 60_000);
  });

  it('each user operation carries its ge.user_op and properties', () => {
    ge.userSet('u', { plan: 'pro' });
    ge.userSetOnce('u', { first: 'ads' });
    ge.userIncrement('u', { coins: 2.5 });
    ge.userMax('u', { level: 10 });
    ge.userMin('u', { latency: 35 });
    ge.userAppend('u', { tags: ['a'] });
    ge.userUniqAppend('u', { tags: ['b'] });

    assert.deepEqual(
      emitted().map((r) => [r.attributes['ge.user_op'], r.body, r.eventName]),
      [
        ['set', { plan: 'pro' }, undefined],
        ['set_once', { first: 'ads' }, undefined],
        ['increment', { coins: 2.5 }, undefined],
        ['max', { level: 10 }, undefined],
        ['min', { latency: 35 }, undefined],
        ['append', { tags: ['a'] }, undefined],
        ['uniq_append', { tags: ['b'] }, undefined],
      ],
    );
  });

  it('userUnset sends the list of keys as the body and userDelete sends no body', () => {
    ge.userUnset('u', ['tags', 'min_latency_ms']);
    ge.userDelete('u');

    const [unset, del] = emitted();
    assert.deepEqual(unset!.attributes, { 'ge.client_id': 'u', 'ge.user_op': 'unset' });
    assert.deepEqual(unset!.body, ['tags', 'min_latency_ms']);
    assert.deepEqual(del!.attributes, { 'ge.client_id': 'u', 'ge.user_op': 'delete' });
    assert.equal(del!.body, undefined);
  });

  it('the emitted records map to the same Gravity records the exporter sends', () => {
    ge.track('u', 'order.paid', { 'http.route': '/pay' });
    ge.userUnset('u', ['a']);
    ge.userDelete('u');

    const ctx = createMappingContext();
    const events = emitted().map((record) => {
      const result = mapLogRecord(record, ctx);
      assert.ok(result?.ok);
      return { event: result.value.event.event, properties: result.value.event.properties };
    });
    assert.deepEqual(events, [
      { event: 'order_paid', properties: { $lib: 'node', $lib_version: ctx.libVersion, http_route: '/pay' } },
      { event: 'profile_unset', properties: { a: 0 } },
      { event: 'profile_delete', properties: {} },
    ]);
  });

  it('converts Date values at any depth to YYYY-MM-DD HH:mm:ss.SSS', () => {
    const when = new Date(2024, 0, 2, 3, 4, 5, 6);

    ge.track('u', 'e', { at: when, nested: { list: [when, { deeper: when }] } });
    ge.userSet('u', { at: when });

    const [track, set] = emitted();
    assert.deepEqual(track!.body, {
      at: '2024-01-02 03:04:05.006',
      nested: { list: ['2024-01-02 03:04:05.006', { deeper: '2024-01-02 03:04:05.006' }] },
    });
    assert.deepEqual(set!.body, { at: formatGravityDate(when) });
  });

  it('uses the time option (Date or epoch milliseconds) as the record timestamp, even years back', () => {
    ge.track('u', 'e', {}, { time: 1_500_000_000_123 });
    ge.userSet('u', { a: 1 }, { time: new Date(1_600_000_000_456) });

    assert.deepEqual(emitted().map(millisOf), [1_500_000_000_123, 1_600_000_000_456]);
  });

  it('timeFree sets ge.time_free; clientIp and clientUa set ge.client_ip and ge.client_ua', () => {
    ge.track('u', 'e', {}, { time: 0, timeFree: true, clientIp: '203.0.113.9', clientUa: 'curl/8' });

    assert.deepEqual(only().attributes, {
      'ge.client_id': 'u',
      'ge.time_free': true,
      'ge.client_ip': '203.0.113.9',
      'ge.client_ua': 'curl/8',
    });
  });
});

describe('GravityAnalytics super properties', () => {
  it('adds static super properties to track events, and the call properties win', () => {
    ge.setSuperProperties({ app: 'shop', channel: 'web' });

    ge.track('u', 'e', { channel: 'ads' });

    assert.deepEqual(only().body, { app: 'shop', channel: 'ads' });
  });

  it('calls dynamic super properties per track event; they win over static ones and lose to the call', () => {
    let calls = 0;
    const dynamic = new GravityAnalytics({
      loggerProvider: provider,
      superProperties: { source: 'static', tier: 'free' },
      dynamicSuperProperties: () => ({ call: ++calls, tier: 'dynamic', page: 'home' }),
    });

    dynamic.track('u', 'e', { page: 'cart' });
    dynamic.track('u', 'e');

    assert.deepEqual(
      emitted().map((r) => r.body),
      [
        { source: 'static', tier: 'dynamic', call: 1, page: 'cart' },
        { source: 'static', tier: 'dynamic', call: 2, page: 'home' },
      ],
    );
  });

  it('does not add super properties to user operations', () => {
    const withSuper = new GravityAnalytics({
      loggerProvider: provider,
      superProperties: { app: 'shop' },
      dynamicSuperProperties: () => ({ page: 'home' }),
    });

    withSuper.userSet('u', { plan: 'pro' });

    assert.deepEqual(only().body, { plan: 'pro' });
  });

  it('setSuperProperties merges, clearSuperProperties removes them all', () => {
    ge.setSuperProperties({ a: 1 });
    ge.setSuperProperties({ b: 2 });
    assert.deepEqual(ge.getSuperProperties(), { a: 1, b: 2 });

    ge.clearSuperProperties();
    ge.track('u', 'e', { c: 3 });

    assert.deepEqual(ge.getSuperProperties(), {});
    assert.deepEqual(only().body, { c: 3 });
  });

  it('setSuperProperties merges by Gravity key: a later app.version replaces an earlier app_version', () => {
    ge.setSuperProperties({ app_version: '1.0.0', channel: 'web' });
    ge.setSuperProperties({ 'app.version': '2.0.0' });
    ge.track('u', 'open');
    assert.deepEqual(only().body, { channel: 'web', app_version: '2.0.0' });
  });

  it('refuses a bad super property key and keeps the previous ones', () => {
    ge.setSuperProperties({ a: 1 });

    assert.throws(() => ge.setSuperProperties({ 'bad key': 1 }), GravityValidationError);
    assert.deepEqual(ge.getSuperProperties(), { a: 1 });
  });
});

describe('GravityAnalytics misuse', () => {
  it('throws for an empty or non-string client id', () => {
    assertRejected(() => ge.track('', 'e'), 'clientId', 'invalid_client_id');
    assertRejected(() => ge.userSet('  ', { a: 1 }), 'clientId', 'invalid_client_id');
    assertRejected(() => ge.userDelete(42 as unknown as string), 'clientId', 'invalid_client_id');
  });

  it('throws for a missing, non-string or invalid event name', () => {
    assertRejected(() => ge.track('u', ''), 'eventName', 'missing_event_name');
    assertRejected(() => ge.track('u', 7 as unknown as string), 'eventName', 'invalid_event_name');
    assertRejected(() => ge.track('u', '1st-event'), 'eventName', 'invalid_event_name');
  });

  it('throws for a property key that does not fit the Gravity key rule, naming the key', () => {
    assertRejected(() => ge.track('u', 'e', { 'has space': 1 }), 'has space', 'invalid_key');
    assertRejected(() => ge.userSet('u', { ['x'.repeat(51)]: 1 }), 'x'.repeat(51), 'invalid_key');
  });

  it('throws for a non-numeric increment, max or min', () => {
    assertRejected(() => ge.userIncrement('u', { coins: '5' as unknown as number }), 'coins', 'invalid_operation_value');
    assertRejected(() => ge.userMax('u', { level: null as unknown as number }), 'level', 'invalid_operation_value');
    assertRejected(() => ge.userMin('u', { latency: [1] as unknown as number }), 'latency', 'invalid_operation_value');
  });

  it('throws for a non-array append', () => {
    assertRejected(() => ge.userAppend('u', { tags: 'red' as unknown as string[] }), 'tags', 'invalid_operation_value');
    assertRejected(() => ge.userUniqAppend('u', { tags: {} as unknown as string[] }), 'tags', 'invalid_operation_value');
  });

  it('throws for NaN and Infinity at any depth, naming the path', () => {
    assertRejected(() => ge.userIncrement('u', { coins: Number.NaN }), 'coins', 'invalid_value');
    assertRejected(() => ge.track('u', 'e', { deep: { list: [1, Infinity] } }), 'deep.list[1]', 'invalid_value');
  });

  it('throws for properties, keys or time of the wrong shape', () => {
    assertRejected(() => ge.userSet('u', 'plan' as unknown as Record<string, string>), 'properties', 'invalid_argument');
    assertRejected(() => ge.track('u', 'e', [1] as unknown as Record<string, number>), 'properties', 'invalid_argument');
    // A Map or class instance keeps its data out of its own keys: it would be sent as an empty event.
    assertRejected(() => ge.track('u', 'e', new Map([['amount', 30]]) as never), 'properties', 'invalid_argument');
    assertRejected(() => ge.userSet('u', new (class Plan { tier = 'pro'; })() as never), 'properties', 'invalid_argument');
    assert.throws(() => ge.setSuperProperties(new Map([['app', 'shop']]) as never), GravityValidationError);
    assertRejected(() => ge.userUnset('u', 'tags' as unknown as string[]), 'keys', 'invalid_argument');
    assertRejected(() => ge.userUnset('u', ['ok', 'bad key']), 'keys[1]', 'invalid_key');
    assertRejected(() => ge.userUnset('u', []), 'properties', 'invalid_operation_value');
    assertRejected(() => ge.track('u', 'e', {}, { time: new Date('nope') }), 'time', 'invalid_argument');
    assertRejected(() => ge.track('u', 'e', {}, { timeFree: 'yes' as unknown as boolean }), 'timeFree', 'invalid_ge_attribute');
    assertRejected(() => ge.track('u', 'e', { 'ge.clientid': 'x' }), 'ge.clientid', 'unknown_ge_attribute');
    assertRejected(() => ge.userSet('u', { 'ge.user_opp': 'set' }), 'ge.user_opp', 'unknown_ge_attribute');
    assertRejected(() => ge.userSet('u', { bio: 'b'.repeat(1_100_000) }), 'bio', 'record_too_large');
  });

  it('error messages name the method and the field', () => {
    assert.throws(() => ge.userIncrement('u', { coins: '5' as unknown as number }), {
      message: /^userIncrement: coins: this operation needs a number, got string$/,
    });
  });

  it('rejects a constructor option of the wrong type', () => {
    assert.throws(() => new GravityAnalytics({ dynamicSuperProperties: {} as unknown as () => Record<string, never> }), TypeError);
    assert.throws(() => new GravityAnalytics({ logger: {} as never }), TypeError);
  });
});

describe('GravityAnalytics flush and close', () => {
  it('flush force-flushes the given provider and close shuts it down', async () => {
    let flushed = 0;
    let shutdown = 0;
    const fake = {
      getLogger: () => provider.getLogger('x'),
      forceFlush: async () => void flushed++,
      shutdown: async () => void shutdown++,
    };
    const facade = new GravityAnalytics({ loggerProvider: fake });

    await facade.flush();
    await facade.close();

    assert.deepEqual([flushed, shutdown], [1, 1]);
  });

  it(`uses the global logger provider by default (OpenTelemetry JS ${OTEL_LINE}.x's), even when registered after construction`, async () => {
    const facade = new GravityAnalytics();
    globalLogs.setGlobalLoggerProvider(provider);
    try {
      facade.track('u', 'late_registration');
      await facade.flush();
      assert.equal(only().eventName, 'late_registration');
      assert.equal(only().instrumentationScope.name, 'gravity-otel-exporter');
    } finally {
      globalLogs.disable();
    }
  });
});
