/**
 * createGravityLogRecordProcessor / createGravitySpanProcessor: processors sized so that a burst
 * the OTel defaults would drop (queue 2,048) reaches Gravity whole, and that reject bad settings at once.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { startEmulator } from '../../src/emulator/index.js';
import type { Emulator } from '../../src/emulator/index.js';
import {
  createGravityLogRecordProcessor,
  createGravitySpanProcessor,
  GRAVITY_PROCESSOR_DEFAULTS,
  GravityLogRecordExporter,
  GravitySpanExporter,
} from '../../src/index.js';
import { pipelineOf } from '../../src/exporters/exporter-base.js';
import { createQueueAccounting } from '../../src/exporters/processor-accounting.js';
import { captureDiag } from '../helpers/diag-capture.js';
import type { DiagCapture } from '../helpers/diag-capture.js';
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

describe('records the OTel batch processor drops', () => {
  let emulator: Emulator;
  let diagCapture: DiagCapture;
  before(async () => {
    emulator = await startEmulator();
  });
  beforeEach(() => {
    emulator.clear();
    diagCapture = captureDiag();
  });
  afterEach(() => diagCapture.stop());
  after(() => emulator.close());

  it('counts exactly what a full queue dropped in a burst, in getStats() and the self-metrics, and warns naming it', async () => {
    const reader = new PullReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    const exporter = new GravityLogRecordExporter({ url: emulator.url, accessToken: 't', meterProvider });
    const provider = new LoggerProvider({ processors: [createGravityLogRecordProcessor(exporter, { maxQueueSize: 100, scheduledDelayMillis: 1_000 })] });
    const logger = provider.getLogger('burst');
    for (let i = 0; i < 1_000; i++) logger.emit({ eventName: 'tick', attributes: { 'ge.client_id': `user-${i % 10}`, seq: i } });
    await provider.forceFlush();

    const delivered = emulator.events().length;
    const stats = exporter.getStats();
    assert.ok(delivered > 0 && delivered < 1_000, `delivered ${delivered}`);
    assert.equal(stats.received, delivered);
    assert.equal(stats.droppedByProcessor, 1_000 - delivered);
    assert.equal(await droppedByProcessorMetric(reader), 1_000 - delivered);
    const warnings = diagCapture.at('warn').join('\n');
    assert.match(warnings, /OTel batch processor queue is full/);
    assert.match(warnings, new RegExp(`dropped ${1_000 - delivered} log records while its queue was full \\(maxQueueSize 100`));
    await provider.shutdown();
    await meterProvider.shutdown();
  });

  it('without the processor\'s drop metric (sdk-logs before 0.221), drops and counts what the full queue would have dropped', async () => {
    // The processor gets OTel's own self-metrics, not the helpers' listener: as an older one, its drops go unheard.
    const reader = new PullReader();
    const otelMetrics = new MeterProvider({ readers: [reader] });
    const exporter = new GravityLogRecordExporter({ url: emulator.url, accessToken: 't' });
    const accounting = createQueueAccounting(pipelineOf(exporter), 100, 'logs');
    const processor = new BatchLogRecordProcessor({
      exporter: accounting.countExports(exporter),
      maxQueueSize: 100,
      maxExportBatchSize: 100,
      scheduledDelayMillis: 1_000,
      selfObsMeterProvider: otelMetrics,
    });
    accounting.attach(processor, 'onEmit', () => 1);
    const provider = new LoggerProvider({ processors: [processor] });
    const logger = provider.getLogger('burst');
    for (let i = 0; i < 1_000; i++) logger.emit({ eventName: 'tick', attributes: { 'ge.client_id': `user-${i % 10}`, seq: i } });
    await provider.forceFlush();

    const delivered = emulator.events().length;
    assert.ok(delivered > 0 && delivered < 1_000, `delivered ${delivered}`);
    assert.equal(exporter.getStats().droppedByProcessor, 1_000 - delivered);
    const { resourceMetrics } = await reader.collect();
    const processed = resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics).find((m) => m.descriptor.name === 'otel.sdk.processor.log.processed');
    const queueFull = processed?.dataPoints.filter((point) => point.attributes['error.type'] === 'queue_full') ?? [];
    assert.deepEqual(queueFull.map((point) => point.value), [], 'the processor itself dropped nothing unseen');
    await provider.shutdown();
    await otelMetrics.shutdown();
  });

  it('counts the span events of spans a full queue dropped', async () => {
    const exporter = new GravitySpanExporter({ url: emulator.url, accessToken: 't' });
    const provider = new TracerProvider({ spanProcessors: [createGravitySpanProcessor(exporter, { maxQueueSize: 20, scheduledDelayMillis: 1_000 })] });
    const tracer = provider.getTracer('burst');
    for (let i = 0; i < 100; i++) {
      const span = tracer.startSpan('checkout', { attributes: { 'ge.client_id': `user-${i % 5}` } });
      span.addEvent('viewed', { seq: i });
      span.addEvent('paid', { seq: i });
      span.end();
    }
    await provider.forceFlush();

    const delivered = emulator.events().length;
    assert.ok(delivered > 0 && delivered < 200, `delivered ${delivered}`);
    assert.equal(exporter.getStats().droppedByProcessor, 200 - delivered);
    await provider.shutdown();
  });

  it('counts records emitted into a processor that is shutting down', async () => {
    const exporter = new GravityLogRecordExporter({ url: emulator.url, accessToken: 't' });
    const processor = createGravityLogRecordProcessor(exporter);
    const provider = new LoggerProvider({ processors: [processor] });
    const logger = provider.getLogger('late');
    logger.emit({ eventName: 'before', attributes: { 'ge.client_id': 'u1' } });
    const shutdown = processor.shutdown();
    logger.emit({ eventName: 'during', attributes: { 'ge.client_id': 'u1' } });
    await shutdown;
    assert.deepEqual(emulator.events().map((e) => e.event), ['before']);
    assert.equal(exporter.getStats().droppedByProcessor, 1);
    await provider.shutdown();
  });
});

async function droppedByProcessorMetric(reader: MetricReader): Promise<unknown> {
  const { resourceMetrics } = await reader.collect();
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      if (metric.descriptor.name === 'gravity_exporter.records.dropped_by_processor') return metric.dataPoints[0]?.value;
    }
  }
  return undefined;
}

/** A reader that collects only when asked. */
class PullReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}
