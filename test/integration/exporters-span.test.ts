import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { diag, ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import { startEmulator } from '../../src/emulator/index.js';
import type { AcceptedEvent, Emulator } from '../../src/emulator/index.js';
import { GravitySpanExporter } from '../../src/index.js';
import type { GravitySpanExporterOptions } from '../../src/index.js';
import { captureDiag } from '../helpers/diag-capture.js';
import { AlwaysOnSampler, createBatchSpanProcessor, ParentBasedSampler, TracerProvider } from '../helpers/otel-line.js';
import type { SpanExporter } from '../helpers/otel-line.js';

describe('GravitySpanExporter through the tracer provider and BatchSpanProcessor of the installed trace SDK', () => {
  let emulator: Emulator;
  let exporter: GravitySpanExporter;
  let provider: TracerProvider;

  /** Most `export()` calls the processor had running at once. */
  let maxConcurrentExports = 0;

  function setUp(options: GravitySpanExporterOptions = {}, sampler?: ParentBasedSampler): void {
    exporter = new GravitySpanExporter({ url: emulator.url, accessToken: 'test-token', ...options });
    let running = 0;
    maxConcurrentExports = 0;
    // Sees how the processor calls the real exporter, changing nothing.
    const observed: SpanExporter = {
      export: (spans, resultCallback) => {
        maxConcurrentExports = Math.max(maxConcurrentExports, ++running);
        exporter.export(spans, (result) => {
          running--;
          resultCallback(result);
        });
      },
      forceFlush: () => exporter.forceFlush(),
      shutdown: () => exporter.shutdown(),
    };
    provider = new TracerProvider({
      sampler,
      spanProcessors: [createBatchSpanProcessor(observed, { scheduledDelayMillis: 60_000, maxQueueSize: 4096, maxExportBatchSize: 50 })],
    });
  }

  before(async () => {
    emulator = await startEmulator();
  });
  beforeEach(() => emulator.clear());
  afterEach(async () => {
    await provider.shutdown();
    diag.disable();
  });
  after(() => emulator.close());

  it('sends each event of a span carrying ge.client_id as a track event at its own time, user ops included', async () => {
    setUp();
    const tracer = provider.getTracer('shop');
    const eventTime = new Date(Date.now() - 60_000);
    const span = tracer.startSpan('checkout', { attributes: { 'ge.client_id': 'user-42', 'http.route': '/buy' } });
    span.addEvent('purchase', { amount: 30, 'item.name': 'sword' }, eventTime);
    span.addEvent('upgrade', { 'ge.user_op': 'set', plan: 'pro' }, eventTime);
    span.end(new Date(Date.now() + 5_000));

    await provider.forceFlush();

    const events = emulator.events().map(({ requestSeq: _seq, ...event }) => event);
    assert.deepStrictEqual(events, [
      {
        client_id: 'user-42',
        type: 'track',
        event: 'purchase',
        time: eventTime.getTime(),
        time_free: false,
        properties: { $lib: 'node', $lib_version: events[0]?.properties['$lib_version'], amount: 30, item_name: 'sword' },
      },
      { client_id: 'user-42', type: 'profile', event: 'profile_set', time: eventTime.getTime(), time_free: false, properties: { plan: 'pro' } },
    ]);
  });

  it('sends nothing for spans and events without ge.* attributes, and counts their events as ignored', async () => {
    setUp();
    const tracer = provider.getTracer('shop');
    for (let i = 0; i < 20; i++) {
      const span = tracer.startSpan(`GET /item/${i}`, { attributes: { 'http.route': '/item/:id' } });
      span.addEvent('cache.miss', { key: `k${i}` });
      span.addEvent('db.query');
      span.end();
    }
    tracer.startSpan('no-events').end();

    await provider.forceFlush();

    assert.equal(emulator.requests.length, 0);
    const stats = exporter.getStats();
    assert.deepStrictEqual([stats.received, stats.ignored, stats.sent, stats.requests], [40, 40, 0, 0]);
  });

  it('sends an event that carries its own ge.client_id from an otherwise plain span', async () => {
    setUp();
    const span = provider.getTracer('shop').startSpan('GET /');
    span.addEvent('cache.miss');
    span.addEvent('signup', { 'ge.client_id': 'user-7', 'ge.client_ip': '203.0.113.9', plan: 'free' });
    span.end();

    await provider.forceFlush();

    assert.deepStrictEqual(
      emulator.events().map((e) => [e.client_id, e.client_ip, e.event, e.properties['plan']]),
      [['user-7', '203.0.113.9', 'signup', 'free']],
    );
    assert.deepStrictEqual([exporter.getStats().received, exporter.getStats().ignored], [2, 1]);
  });

  it('adds trace_id and span_id with traceCorrelation and copies chosen span attributes, which Gravity accepts', async () => {
    setUp({ traceCorrelation: true, copySpanAttributes: ['http.route'] });
    const span = provider.getTracer('shop').startSpan('checkout', { attributes: { 'ge.client_id': 'u1', 'http.route': '/buy' } });
    span.addEvent('purchase', { amount: 1 });
    span.end();
    const { traceId, spanId } = span.spanContext();

    await provider.forceFlush();

    const [event] = emulator.events();
    assert.deepStrictEqual(
      [event?.properties['trace_id'], event?.properties['span_id'], event?.properties['http_route']],
      [traceId, spanId, '/buy'],
    );
  });

  it('rejects a bad event with a diag warning naming the field while its siblings are delivered', async () => {
    setUp();
    const warnings = captureDiag();
    const span = provider.getTracer('shop').startSpan('checkout', { attributes: { 'ge.client_id': 'u1' } });
    span.addEvent('first', { n: 1 });
    span.addEvent('bad', { 'ge.user_op': 'inc', coins: 1 });
    span.addEvent('third', { n: 3 });
    span.end();

    await provider.forceFlush();

    assert.deepStrictEqual(emulator.events().map((e) => e.event), ['first', 'third']);
    assert.equal(warnings.at('warn').length, 1);
    assert.match(warnings.at('warn')[0]!, /1 of 3 records rejected.*ge\.user_op: unknown operation "inc"/);
    assert.deepStrictEqual(exporter.getStats().rejectedByReason, { invalid_user_op: 1 });
  });

  it('rejects events under a ge.* typo on the event or on the span, counted, while correct spans are delivered', async () => {
    setUp();
    const tracer = provider.getTracer('shop');
    const typoOnSpan = tracer.startSpan('checkout', { attributes: { 'ge.clientid': 'u1' } });
    typoOnSpan.addEvent('purchase', { amount: 30 });
    typoOnSpan.addEvent('viewed');
    typoOnSpan.end();
    const typoOnEvent = tracer.startSpan('upgrade', { attributes: { 'ge.client_id': 'u2' } });
    typoOnEvent.addEvent('upgrade', { 'ge.user_opp': 'set', plan: 'pro' });
    typoOnEvent.addEvent('purchase', { amount: 5 });
    typoOnEvent.end();
    const plain = tracer.startSpan('GET /health');
    plain.addEvent('exception');
    plain.end();

    await provider.forceFlush();

    assert.deepStrictEqual(emulator.events().map((e) => [e.client_id, e.event]), [['u2', 'purchase']]);
    const stats = exporter.getStats();
    assert.deepStrictEqual(stats.rejectedByReason, { unknown_ge_attribute: 3 });
    assert.equal(stats.ignored, 1);
  });

  it('warns once that sampling drops analytics when a sampled analytics span has an unsampled parent', async () => {
    const sampler = new ParentBasedSampler({ root: new AlwaysOnSampler(), remoteParentNotSampled: new AlwaysOnSampler() });
    setUp({}, sampler);
    const warnings = captureDiag();
    const unsampledParent = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: '00f067aa0ba902b7',
      traceFlags: TraceFlags.NONE,
      isRemote: true,
    });
    const tracer = provider.getTracer('shop');
    for (let i = 0; i < 2; i++) {
      const span = tracer.startSpan('checkout', { attributes: { 'ge.client_id': 'u1' } }, unsampledParent);
      span.addEvent('purchase');
      span.end();
      await provider.forceFlush();
    }

    assert.equal(emulator.events().length, 2);
    const samplingWarnings = warnings.at('warn').filter((w) => w.includes('trace sampling drops analytics'));
    assert.equal(samplingWarnings.length, 1);
    assert.match(samplingWarnings[0]!, /parent span 00f067aa0ba902b7 was not sampled.*Logs API/);
  });

  it('delivers 5,000 events over 500 spans and 200 clients exactly once under concurrent forceFlush calls', async () => {
    setUp();
    emulator.setResponseDelay(2);
    const tracer = provider.getTracer('load');
    const expected: string[] = [];
    const flushes: Promise<void>[] = [];
    for (let s = 0; s < 500; s++) {
      const clientId = `client-${s % 200}`;
      const span = tracer.startSpan('handler', { attributes: { 'ge.client_id': clientId } });
      for (let n = 0; n < 10; n++) {
        span.addEvent('step', { s, n });
        expected.push(`${clientId}|step|${s}|${n}`);
      }
      span.end();
      if (s % 20 === 19) flushes.push(provider.forceFlush());
    }
    flushes.push(provider.forceFlush(), provider.forceFlush());

    await Promise.all(flushes);
    await provider.forceFlush();

    const key = (e: AcceptedEvent): string => `${e.client_id}|${e.event}|${String(e.properties['s'])}|${String(e.properties['n'])}`;
    const received = emulator.events().map(key).sort();
    assert.ok(maxConcurrentExports > 1, `exports overlapped (at most ${maxConcurrentExports} at once)`);
    assert.equal(received.length, 5_000);
    assert.equal(new Set(received).size, 5_000, 'no duplicates');
    assert.deepStrictEqual(received, expected.sort());
    assert.deepStrictEqual([exporter.getStats().received, exporter.getStats().sent], [5_000, 5_000]);
    emulator.setResponseDelay(0);
  });
});
