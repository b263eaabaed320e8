/**
 * Self-observability: the exporter's counters recorded as OTel metrics through a given MeterProvider
 * (sdk-metrics, read with a pull MetricReader), matching `getStats()`.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import type { DataPoint } from '@opentelemetry/sdk-metrics';
import { GravityLogRecordExporter, GravitySpanExporter } from '../../src/index.js';
import { exportOnce } from '../helpers/export-once.js';
import { createTrackRecord } from '../helpers/record-builders.js';
import { startExporterHarness } from '../helpers/exporter-harness.js';
import type { ExporterHarness } from '../helpers/exporter-harness.js';
import { createBatchSpanProcessor, TracerProvider } from '../helpers/otel-line.js';

/** A reader that collects only when asked. */
class PullReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

type Points = Map<string, Array<DataPoint<unknown>>>;

async function readMetrics(reader: MetricReader): Promise<Points> {
  const { resourceMetrics, errors } = await reader.collect();
  assert.deepEqual(errors, []);
  const points: Points = new Map();
  for (const scope of resourceMetrics.scopeMetrics) {
    if (scope.scope.name !== 'gravity-otel-exporter') continue;
    for (const metric of scope.metrics) points.set(metric.descriptor.name, metric.dataPoints as Array<DataPoint<unknown>>);
  }
  return points;
}

function valueOf(points: Points, name: string, attributes: Record<string, string>): unknown {
  const point = points.get(name)?.find((p) => JSON.stringify(p.attributes) === JSON.stringify(attributes));
  return point?.value;
}

let harness: ExporterHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe('self-metrics', () => {
  it('records received, ignored, rejected by reason, sent and requests of the log exporter', async () => {
    const reader = new PullReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    harness = await startExporterHarness({ exporter: { meterProvider } });

    harness.logger.emit({ eventName: 'purchase', attributes: { 'ge.client_id': 'u1', amount: 3 } });
    harness.logger.emit({ eventName: 'purchase', attributes: { 'ge.client_id': 'u2' } });
    harness.logger.emit({ body: 'not analytics' });
    harness.logger.emit({ eventName: 'bad name!', attributes: { 'ge.client_id': 'u1' } });
    await harness.flush();

    const points = await readMetrics(reader);
    const logs = { exporter: 'logs' };
    const stats = harness.exporter.getStats();
    assert.equal(valueOf(points, 'gravity_exporter.records.received', logs), 4);
    assert.equal(valueOf(points, 'gravity_exporter.records.ignored', logs), 1);
    assert.equal(valueOf(points, 'gravity_exporter.records.sent', logs), 2);
    assert.equal(valueOf(points, 'gravity_exporter.records.rejected', { exporter: 'logs', reason: 'invalid_event_name' }), 1);
    assert.equal(valueOf(points, 'gravity_exporter.records.failed', logs), 0);
    assert.equal(valueOf(points, 'gravity_exporter.requests', logs), stats.requests);
    assert.equal(valueOf(points, 'gravity_exporter.request_attempts', logs), stats.attempts);
    for (const name of ['retried', 'spooled', 'dropped', 'dropped_by_processor']) {
      assert.equal(valueOf(points, `gravity_exporter.records.${name}`, logs), 0, name);
    }
    await meterProvider.shutdown();
  });

  it('labels the span exporter\'s counters with exporter "spans"', async () => {
    const reader = new PullReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    harness = await startExporterHarness();
    const exporter = new GravitySpanExporter({ url: harness.emulator.url, accessToken: 'span-token-1234', meterProvider });
    const tracerProvider = new TracerProvider({ spanProcessors: [createBatchSpanProcessor(exporter)] });

    const span = tracerProvider.getTracer('t').startSpan('s', { attributes: { 'ge.client_id': 'u1' } });
    span.addEvent('clicked');
    span.end();
    await tracerProvider.forceFlush();

    const points = await readMetrics(reader);
    assert.equal(valueOf(points, 'gravity_exporter.records.sent', { exporter: 'spans' }), 1);
    assert.equal(valueOf(points, 'gravity_exporter.records.sent', { exporter: 'logs' }), undefined);
    await tracerProvider.shutdown();
    await meterProvider.shutdown();
  });

  it('sums two exporters of one kind on one provider, and keeps a shut-down one\'s counts (never going down)', async () => {
    const reader = new PullReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    harness = await startExporterHarness();
    const options = { url: harness.emulator.url, accessToken: 'metrics-token-1234', meterProvider };
    const a = new GravityLogRecordExporter(options);
    const b = new GravityLogRecordExporter(options);
    await exportOnce(a, [createTrackRecord('u1'), createTrackRecord('u2'), createTrackRecord('u3')]);
    await exportOnce(b, [createTrackRecord('u4')]);
    assert.equal(valueOf(await readMetrics(reader), 'gravity_exporter.records.sent', { exporter: 'logs' }), 4);

    await a.shutdown();
    await exportOnce(b, [createTrackRecord('u5')]);
    assert.equal(valueOf(await readMetrics(reader), 'gravity_exporter.records.sent', { exporter: 'logs' }), 5);
    await b.shutdown();
    await meterProvider.shutdown();
  });

  it('refuses something that is not a MeterProvider in the constructor, naming the option', () => {
    assert.throws(
      () => new GravityLogRecordExporter({ url: 'http://127.0.0.1:9/', accessToken: 'metrics-token-1234', meterProvider: {} as never }),
      (error: unknown) => error instanceof TypeError && error.message.startsWith('Configuration: meterProvider is invalid'),
    );
  });
});
