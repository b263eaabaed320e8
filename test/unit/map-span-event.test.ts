import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TraceFlags } from '@opentelemetry/api';
import type { Attributes, HrTime } from '@opentelemetry/api';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace';
import {
  createSpanEventMapper,
  resolveSpanEventMappingOptions,
} from '../../src/mapping/map-span-event.js';
import type { SpanEventMappingOptions } from '../../src/mapping/map-span-event.js';
import type { MappingContext } from '../../src/mapping/map-record.js';

const CTX: MappingContext = { libVersion: '9.9.9', strict: false, now: () => Date.UTC(2025, 0, 1) };
const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const SPAN_ID = 'b7ad6b7169203331';
const EVENT_TIME: HrTime = [1_735_689_600, 123_456_789];
const EVENT_MILLIS = 1_735_689_600_123;
const LIB = { $lib: 'node', $lib_version: '9.9.9' };

function createTestEvent(name: string, attributes?: Attributes, time: HrTime = EVENT_TIME): TimedEvent {
  return { name, attributes, time };
}

function createTestSpan(attributes: Attributes, events: TimedEvent[]): ReadableSpan {
  const spanContext = { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED };
  return { name: 'checkout', attributes, events, spanContext: () => spanContext } as unknown as ReadableSpan;
}

function map(span: ReadableSpan, options: Partial<SpanEventMappingOptions> = {}) {
  return createSpanEventMapper(resolveSpanEventMappingOptions(options))(span, CTX);
}

function track(event: string, properties: Record<string, unknown>, time = EVENT_MILLIS) {
  return { type: 'track', event, time, time_free: false, properties: { ...LIB, ...properties } };
}

describe('createSpanEventMapper', () => {
  it('maps each event of a span carrying ge.client_id to a track event named after the event, at the event time', () => {
    const span = createTestSpan({ 'ge.client_id': 'u1', 'http.route': '/buy' }, [
      createTestEvent('purchase', { amount: 30, 'item.name': 'sword' }),
      createTestEvent('viewed', undefined, [1_735_689_601, 0]),
    ]);
    assert.deepStrictEqual(map(span), [
      {
        ok: true,
        value: { clientId: 'u1', clientIp: undefined, clientUa: undefined, event: track('purchase', { amount: 30, item_name: 'sword' }) },
      },
      { ok: true, value: { clientId: 'u1', clientIp: undefined, clientUa: undefined, event: track('viewed', {}, 1_735_689_601_000) } },
    ]);
  });

  it("names the event after the event's ge.event_name when present", () => {
    const span = createTestSpan({ 'ge.client_id': 'u1' }, [createTestEvent('span-event', { 'ge.event_name': 'purchase' })]);
    const [result] = map(span);
    assert.equal(result?.ok && result.value.event.event, 'purchase');
  });

  it('makes a user operation of an event carrying ge.user_op', () => {
    const span = createTestSpan({ 'ge.client_id': 'u1' }, [createTestEvent('upgrade', { 'ge.user_op': 'set', plan: 'pro' })]);
    assert.deepStrictEqual(map(span), [
      {
        ok: true,
        value: {
          clientId: 'u1',
          clientIp: undefined,
          clientUa: undefined,
          event: { type: 'profile', event: 'profile_set', time: EVENT_MILLIS, time_free: false, properties: { plan: 'pro' } },
        },
      },
    ]);
  });

  it('inherits ge.client_ip, ge.client_ua and ge.time_free from the span, the event value winning', () => {
    const span = createTestSpan({ 'ge.client_id': 'u1', 'ge.client_ip': '10.0.0.1', 'ge.client_ua': 'span-ua', 'ge.time_free': true }, [
      createTestEvent('a', { 'ge.client_ua': 'event-ua', 'ge.client_id': 'u2' }),
    ]);
    const [result] = map(span);
    assert.ok(result?.ok);
    assert.deepStrictEqual(
      [result.value.clientId, result.value.clientIp, result.value.clientUa, result.value.event.time_free],
      ['u2', '10.0.0.1', 'event-ua', true],
    );
  });

  it('exports an event carrying its own ge.client_id on a span without ge.* attributes, and ignores its siblings', () => {
    const span = createTestSpan({ 'http.route': '/x' }, [
      createTestEvent('noise', { a: 1 }),
      createTestEvent('purchase', { 'ge.client_id': 'u1', amount: 1 }),
      createTestEvent('exception'),
    ]);
    const results = map(span);
    assert.equal(results.length, 3);
    assert.equal(results[0], undefined);
    assert.equal(results[1]?.ok && results[1].value.event.event, 'purchase');
    assert.equal(results[2], undefined);
  });

  it('ignores every event of a span when neither the span nor its events carry ge.* attributes', () => {
    const span = createTestSpan({ 'http.route': '/x' }, [createTestEvent('a', { x: 1 }), createTestEvent('b')]);
    assert.deepStrictEqual(map(span), [undefined, undefined]);
  });

  it('returns no results for a span without events', () => {
    assert.deepStrictEqual(map(createTestSpan({ 'ge.client_id': 'u1' }, [])), []);
  });

  it('rejects an event with ge.* attributes but no client id on the event or its span, naming the field', () => {
    const span = createTestSpan({}, [createTestEvent('upgrade', { 'ge.user_op': 'set', plan: 'pro' })]);
    const [result] = map(span);
    assert.equal(result?.ok, false);
    assert.ok(result !== undefined && !result.ok);
    assert.equal(result.code, 'missing_client_id');
    assert.match(result.reason, /^ge\.client_id: /);
  });

  it('does not let ge.event_name or ge.user_op on the span change its events', () => {
    const span = createTestSpan({ 'ge.client_id': 'u1', 'ge.event_name': 'all', 'ge.user_op': 'delete' }, [createTestEvent('purchase')]);
    const [result] = map(span);
    assert.ok(result?.ok);
    assert.deepStrictEqual(result.value.event, track('purchase', {}));
  });

  it('rejects an event carrying a ge.* typo, naming it and the key meant, with or without a client id', () => {
    const withId = createTestSpan({ 'ge.client_id': 'u1' }, [createTestEvent('upgrade', { 'ge.user_opp': 'set', plan: 'pro' })]);
    const alone = createTestSpan({}, [createTestEvent('purchase', { 'ge.clientid': 'u1' })]);
    for (const [span, key, meant] of [
      [withId, 'ge.user_opp', 'ge.user_op'],
      [alone, 'ge.clientid', 'ge.client_id'],
    ] as const) {
      const [result] = map(span);
      assert.ok(result !== undefined && !result.ok);
      assert.equal(result.code, 'unknown_ge_attribute');
      assert.equal(result.field, key);
      assert.match(result.reason, new RegExp(`did you mean ${meant.replace('.', '\\.')}\\?$`));
    }
  });

  it("rejects every event of a span whose own ge.* key is a typo: it would have steered them all", () => {
    // Without a client id on the span, its events would otherwise be ignored without a word.
    const typoForId = createTestSpan({ 'ge.clientid': 'u1' }, [createTestEvent('purchase'), createTestEvent('viewed', { amount: 1 })]);
    const typoBesideId = createTestSpan({ 'ge.client_id': 'u1', 'ge.client_ipp': '203.0.113.9' }, [createTestEvent('purchase')]);
    const results = [...map(typoForId), ...map(typoBesideId)];
    assert.deepStrictEqual(
      results.map((r) => r !== undefined && !r.ok && [r.code, r.field, /\(on the span\)/.test(r.reason)]),
      [
        ['unknown_ge_attribute', 'ge.clientid', true],
        ['unknown_ge_attribute', 'ge.clientid', true],
        ['unknown_ge_attribute', 'ge.client_ipp', true],
      ],
    );
    const [first] = map(typoForId);
    assert.ok(first !== undefined && !first.ok);
    assert.match(first.reason, /did you mean ge\.client_id\?$/);
  });

  it('leaves a span and events without any ge.* key ignored, and known span keys as they were', () => {
    assert.deepStrictEqual(map(createTestSpan({ 'http.route': '/' }, [createTestEvent('exception', { 'exception.type': 'E' })])), [undefined]);
    const ipOnly = createTestSpan({ 'ge.client_ip': '203.0.113.9' }, [createTestEvent('exception')]);
    assert.deepStrictEqual(map(ipOnly), [undefined]);
  });

  it('adds trace_id and span_id to track events with traceCorrelation, an event attribute of the same name winning', () => {
    const span = createTestSpan({ 'ge.client_id': 'u1' }, [createTestEvent('a'), createTestEvent('b', { span_id: 'mine' })]);
    const results = map(span, { traceCorrelation: true });
    assert.deepStrictEqual(
      results.map((r) => r?.ok && r.value.event.properties),
      [
        { ...LIB, trace_id: TRACE_ID, span_id: SPAN_ID },
        { ...LIB, trace_id: TRACE_ID, span_id: 'mine' },
      ],
    );
  });

  it('copies chosen span attributes onto track events with dots turned into underscores, the event winning', () => {
    const span = createTestSpan({ 'ge.client_id': 'u1', 'http.route': '/buy', tenant: 'acme', secret: 's' }, [
      createTestEvent('a', { tenant: 'event-tenant' }),
    ]);
    const [result] = map(span, { copySpanAttributes: ['http.route', 'tenant', 'absent', 'ge.client_id'] });
    assert.ok(result?.ok);
    assert.deepStrictEqual(result.value.event.properties, { ...LIB, http_route: '/buy', tenant: 'event-tenant' });
  });

  it('keeps correlation ids and copied span attributes off user operations', () => {
    const span = createTestSpan({ 'ge.client_id': 'u1', tenant: 'acme' }, [createTestEvent('a', { 'ge.user_op': 'increment', coins: 5 })]);
    const [result] = map(span, { traceCorrelation: true, copySpanAttributes: ['tenant'] });
    assert.ok(result?.ok);
    assert.deepStrictEqual(result.value.event.properties, { coins: 5 });
  });
});

describe('resolveSpanEventMappingOptions', () => {
  it('defaults to no correlation and no copied attributes', () => {
    assert.deepStrictEqual(resolveSpanEventMappingOptions({}), { traceCorrelation: false, copySpanAttributes: [] });
  });

  it('throws a TypeError naming the option for a non-boolean traceCorrelation', () => {
    assert.throws(
      () => resolveSpanEventMappingOptions({ traceCorrelation: 'yes' as unknown as boolean }),
      (error: unknown) => error instanceof TypeError && /^Configuration: traceCorrelation is invalid/.test(error.message),
    );
  });

  it('throws a TypeError naming the option when copySpanAttributes is not a list of keys', () => {
    assert.throws(
      () => resolveSpanEventMappingOptions({ copySpanAttributes: 'http.route' as unknown as string[] }),
      (error: unknown) => error instanceof TypeError && /^Configuration: copySpanAttributes is invalid/.test(error.message),
    );
    assert.throws(() => resolveSpanEventMappingOptions({ copySpanAttributes: [''] }), TypeError);
  });

  it('throws, naming the key, for a key that cannot become a Gravity key (it would get every event rejected)', () => {
    assert.throws(
      () => resolveSpanEventMappingOptions({ copySpanAttributes: ['http.route', 'http.request.header.user-agent'] }),
      (error: unknown) => error instanceof TypeError && error.message.includes('(actual: http.request.header.user-agent)'),
    );
    assert.deepStrictEqual(resolveSpanEventMappingOptions({ copySpanAttributes: ['http.route', 'ge.client_id'] }).copySpanAttributes, ['http.route']);
  });
});
