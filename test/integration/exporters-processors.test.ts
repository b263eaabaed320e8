/**
 * createGravityLogRecordProcessor / createGravitySpanProcessor: processors sized so that a burst
 * the OTel defaults would drop (queue 2,048) reaches Gravity whole, and that reject bad settings at once.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { LoggerProvider } from '@opentelemetry/sdk-logs';
import { startEmulator } from '../../src/emulator/index.js';
import type { Emulator } from '../../src/emulator/index.js';
import {
  createGravityLogRecordProcessor,
  createGravitySpanProcessor,
  GRAVITY_PROCESSOR_DEFAULTS,
  GravityLogRecordExporter,
} from '../../src/index.js';
import { TracerProvider } from '../helpers/otel-line.js';

describe('Gravity batch processor helpers', () => {
  let emulator: Emulator;
  before(async () => {
    emulator = await startEmulator();
  });
  beforeEach(() => emulator.clear());
  after(() => emulator.close());

  it('delivers a 5,000-record burst emitted in one tick, which the default processor queue (2,048) would cut', async () => {
    const exporter = new GravityLogRecordExporter({ url: emulator.url, accessToken: 't' });
    const provider = new LoggerProvider({ processors: [createGravityLogRecordProcessor(exporter)] });
    const logger = provider.getLogger('burst');
    for (let i = 0; i < 5_000; i++) {
      logger.emit({ eventName: 'tick', attributes: { 'ge.client_id': `user-${i % 50}`, seq: i } });
    }
    await provider.forceFlush();
    await provider.shutdown();

    assert.equal(emulator.events().length, 5_000);
    assert.equal(exporter.getStats().received, 5_000);
    assert.equal(exporter.getStats().sent, 5_000);
  });

  it('builds its exporter from options when given options', async () => {
    const provider = new LoggerProvider({
      processors: [createGravityLogRecordProcessor({ url: emulator.url, accessToken: 't' }, { scheduledDelayMillis: 10 })],
    });
    provider.getLogger('opts').emit({ eventName: 'purchase', attributes: { 'ge.client_id': 'user-1', amount: 3 } });
    await provider.shutdown();

    assert.deepEqual(emulator.events().map((e) => [e.client_id, e.event]), [['user-1', 'purchase']]);
  });

  it('the span helper sends span events of a span carrying ge.client_id', async () => {
    const provider = new TracerProvider({ spanProcessors: [createGravitySpanProcessor({ url: emulator.url, accessToken: 't' })] });
    const span = provider.getTracer('shop').startSpan('checkout', { attributes: { 'ge.client_id': 'user-7' } });
    span.addEvent('purchase', { amount: 30 });
    span.end();
    await provider.shutdown();

    assert.deepEqual(emulator.events().map((e) => [e.client_id, e.event]), [['user-7', 'purchase']]);
  });

  it('throws RangeError at construction for a setting that is not a positive integer, or a batch above the queue', () => {
    const exporterOptions = { url: emulator.url, accessToken: 't' };
    assert.throws(() => createGravityLogRecordProcessor(exporterOptions, { maxQueueSize: 0 }), RangeError);
    assert.throws(() => createGravityLogRecordProcessor(exporterOptions, { scheduledDelayMillis: 1.5 }), RangeError);
    assert.throws(
      () => createGravitySpanProcessor(exporterOptions, { maxQueueSize: 100, maxExportBatchSize: 200 }),
      /maxExportBatchSize is invalid, expected at most maxQueueSize \(100\)/,
    );
    // A smaller queue given alone brings the default batch size down with it.
    assert.doesNotThrow(() => createGravityLogRecordProcessor(exporterOptions, { maxQueueSize: 8_192 }).shutdown());
    assert.doesNotThrow(() => createGravitySpanProcessor(exporterOptions, { maxQueueSize: 8_192 }).shutdown());
  });

  it('documents defaults that hold a large burst in one export', () => {
    assert.ok(GRAVITY_PROCESSOR_DEFAULTS.maxQueueSize >= 50_000);
    assert.ok(GRAVITY_PROCESSOR_DEFAULTS.maxExportBatchSize >= 50_000, 'a 50,000-record burst is one export: one request per client');
    assert.ok(GRAVITY_PROCESSOR_DEFAULTS.maxExportBatchSize <= GRAVITY_PROCESSOR_DEFAULTS.maxQueueSize);
    assert.ok(GRAVITY_PROCESSOR_DEFAULTS.exportTimeoutMillis > 25_000, 'above the default exportDeadlineMillis');
  });
});
