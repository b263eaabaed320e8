/**
 * Self-observability: an exporter's counters (stats.ts) as OTel observable instruments on a user-given
 * `MeterProvider`. The instruments read one `getStats()` snapshot per collection; nothing is counted twice.
 */
import type { BatchObservableCallback, MeterProvider, ObservableCounter, ObservableGauge } from '@opentelemetry/api';
import type { GravityExporterStats } from './stats.js';
import { VERSION } from './version.js';

/** Name of the meter the instruments belong to. */
export const SELF_METRICS_METER_NAME = 'gravity-otel-exporter';

/** Which exporter the numbers are about (attribute `exporter`). */
export type ExporterKind = 'logs' | 'spans';

type CounterField = 'received' | 'ignored' | 'sent' | 'retried' | 'failed' | 'spooled' | 'dropped';

const COUNTERS: ReadonlyArray<readonly [CounterField, string]> = [
  ['received', 'Records (log records or span events) handed to the exporter'],
  ['ignored', 'Records without ge.* attributes: not analytics, never sent'],
  ['sent', 'Records Gravity accepted'],
  ['retried', 'Records sent again after a retryable failure'],
  ['failed', 'Records not delivered: refused by the service or failed in transport'],
  ['spooled', 'Records written to the durable spool'],
  ['dropped', 'Records given up without a verdict (buffer full, or shutdown out of time)'],
];

/**
 * Registers `gravity_exporter.records.<field>` observable counters (`.rejected` with a `reason` attribute),
 * `gravity_exporter.requests`, and the gauge `gravity_exporter.records.buffered`, each with attribute
 * `exporter`. Does nothing without a provider. Returns what unregisters them (the exporter's shutdown calls it).
 */
export function registerSelfMetrics(
  meterProvider: MeterProvider | undefined,
  exporter: ExporterKind,
  readStats: () => GravityExporterStats,
): () => void {
  if (meterProvider === undefined) return () => undefined;
  const meter = meterProvider.getMeter(SELF_METRICS_METER_NAME, VERSION);
  const unit = '{record}';
  const counters = COUNTERS.map(
    ([field, description]) => [field, meter.createObservableCounter(`gravity_exporter.records.${field}`, { description, unit })] as const,
  );
  const rejected = meter.createObservableCounter('gravity_exporter.records.rejected', {
    description: 'Records that cannot be sent correctly (invalid input), by reason',
    unit,
  });
  const requests = meter.createObservableCounter('gravity_exporter.requests', { description: 'HTTP requests made', unit: '{request}' });
  const buffered = meter.createObservableGauge('gravity_exporter.records.buffered', {
    description: 'Records held in memory: in flight, waiting for a retry or for client initialisation',
    unit,
  });
  const observables: Array<ObservableCounter | ObservableGauge> = [...counters.map(([, counter]) => counter), rejected, requests, buffered];
  const attributes = Object.freeze({ exporter });
  const observe: BatchObservableCallback = (result) => {
    const stats = readStats();
    for (const [field, counter] of counters) result.observe(counter, stats[field] ?? 0, attributes);
    for (const [reason, count] of Object.entries(stats.rejectedByReason)) {
      result.observe(rejected, count ?? 0, { exporter, reason });
    }
    result.observe(requests, stats.requests, attributes);
    result.observe(buffered, stats.buffered ?? 0, attributes);
  };
  meter.addBatchObservableCallback(observe, observables);
  return () => meter.removeBatchObservableCallback(observe, observables);
}
