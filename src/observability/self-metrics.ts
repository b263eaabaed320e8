/**
 * Self-observability: an exporter's counters (stats.ts) as OTel observable instruments on a user-given
 * `MeterProvider`. The instruments read one `getStats()` snapshot per collection; nothing is counted twice.
 */
import type { BatchObservableCallback, MeterProvider, ObservableCounter, ObservableGauge } from '@opentelemetry/api';
import type { GravityExporterStats } from './stats.js';
import { VERSION } from '../common/version.js';

/** Name of the meter the instruments belong to. */
export const SELF_METRICS_METER_NAME = 'gravity-otel-exporter';

/** Which exporter the numbers are about (attribute `exporter`). */
export type ExporterKind = 'logs' | 'spans';

type CounterField = 'received' | 'ignored' | 'sent' | 'retried' | 'failed' | 'spooled' | 'dropped' | 'droppedByProcessor';

/** Each counter's field, instrument name (after `gravity_exporter.records.`) and description. */
const COUNTERS: ReadonlyArray<readonly [CounterField, string, string]> = [
  ['received', 'received', 'Records (log records or span events) handed to the exporter'],
  ['ignored', 'ignored', 'Records without ge.* attributes: not analytics, never sent'],
  ['sent', 'sent', 'Records Gravity accepted'],
  ['retried', 'retried', 'Records sent again after a retryable failure'],
  ['failed', 'failed', 'Records not delivered: refused by the service or failed in transport'],
  ['spooled', 'spooled', 'Records written to the durable spool'],
  ['dropped', 'dropped', 'Records given up without a verdict (buffer full without a spool, shutdown out of time, spool full)'],
  ['droppedByProcessor', 'dropped_by_processor', 'Records the OTel batch processor dropped before the exporter (its queue was full)'],
];

/** The summed counters of the exporters of one kind on one meter provider. */
interface Totals {
  counters: Record<CounterField, number>;
  rejectedByReason: Record<string, number>;
  requests: number;
  attempts: number;
  buffered: number;
}

function emptyTotals(): Totals {
  const counters = Object.fromEntries(COUNTERS.map(([field]) => [field, 0])) as Record<CounterField, number>;
  return { counters, rejectedByReason: {}, requests: 0, attempts: 0, buffered: 0 };
}

/** Adds `stats` into `into`; the buffered gauge only when `withBuffered` (a shut-down exporter holds nothing). */
function addStats(into: Totals, stats: GravityExporterStats, withBuffered: boolean): void {
  for (const [field] of COUNTERS) into.counters[field] += stats[field] ?? 0;
  for (const [reason, count] of Object.entries(stats.rejectedByReason)) into.rejectedByReason[reason] = (into.rejectedByReason[reason] ?? 0) + (count ?? 0);
  into.requests += stats.requests;
  into.attempts += stats.attempts ?? 0;
  if (withBuffered) into.buffered += stats.buffered ?? 0;
}

/**
 * The exporters of one kind reporting through one provider, and the final counts of those shut down. It
 * lives as long as the provider: its callback keeps reporting those final counts.
 */
interface Registration {
  readonly readers: Set<() => GravityExporterStats>;
  readonly retired: Totals;
}

const registrations = new WeakMap<MeterProvider, Map<ExporterKind, Registration>>();

/**
 * Registers `gravity_exporter.records.<field>` observable counters (`.rejected` with a `reason` attribute),
 * `gravity_exporter.requests` (answered) and `gravity_exporter.request_attempts`, and the gauge `gravity_exporter.records.buffered`, each with attribute
 * `exporter`. Does nothing without a provider. Exporters of the same kind on one provider are summed (the
 * same instrument and attributes would otherwise keep only one exporter's value), and the counts of those
 * shut down stay in the sums, so the counters never go down. Returns what takes this exporter out of the
 * sums, keeping its final counts (its shutdown calls it).
 */
export function registerSelfMetrics(
  meterProvider: MeterProvider | undefined,
  exporter: ExporterKind,
  readStats: () => GravityExporterStats,
): () => void {
  if (meterProvider === undefined) return () => undefined;
  let byKind = registrations.get(meterProvider);
  if (byKind === undefined) registrations.set(meterProvider, (byKind = new Map()));
  let registration = byKind.get(exporter);
  if (registration === undefined) {
    const readers = new Set<() => GravityExporterStats>();
    const retired = emptyTotals();
    registration = { readers, retired };
    observe(meterProvider, exporter, readers, retired);
    byKind.set(exporter, registration);
  }
  const { readers, retired } = registration;
  readers.add(readStats);
  let registered = true;
  return () => {
    if (!registered) return;
    registered = false;
    readers.delete(readStats);
    addStats(retired, readStats(), false);
  };
}

function observe(
  meterProvider: MeterProvider,
  exporter: ExporterKind,
  readers: ReadonlySet<() => GravityExporterStats>,
  retired: Totals,
): void {
  const meter = meterProvider.getMeter(SELF_METRICS_METER_NAME, VERSION);
  const unit = '{record}';
  const counters = COUNTERS.map(
    ([field, name, description]) => [field, meter.createObservableCounter(`gravity_exporter.records.${name}`, { description, unit })] as const,
  );
  const rejected = meter.createObservableCounter('gravity_exporter.records.rejected', {
    description: 'Records that cannot be sent correctly (invalid input), by reason',
    unit,
  });
  const requests = meter.createObservableCounter('gravity_exporter.requests', { description: 'HTTP requests the endpoint answered', unit: '{request}' });
  const attempts = meter.createObservableCounter('gravity_exporter.request_attempts', {
    description: 'HTTP requests attempted, answered or not (refused, reset, timed out)',
    unit: '{request}',
  });
  const buffered = meter.createObservableGauge('gravity_exporter.records.buffered', {
    description: 'Records held in memory: in flight, waiting for a retry or for client initialisation',
    unit,
  });
  const observables: Array<ObservableCounter | ObservableGauge> = [...counters.map(([, counter]) => counter), rejected, requests, attempts, buffered];
  const attributes = Object.freeze({ exporter });
  const callback: BatchObservableCallback = (result) => {
    const totals: Totals = {
      counters: { ...retired.counters },
      rejectedByReason: { ...retired.rejectedByReason },
      requests: retired.requests,
      attempts: retired.attempts,
      buffered: 0,
    };
    for (const read of readers) addStats(totals, read(), true);
    for (const [field, counter] of counters) result.observe(counter, totals.counters[field], attributes);
    for (const [reason, count] of Object.entries(totals.rejectedByReason)) result.observe(rejected, count, { exporter, reason });
    result.observe(requests, totals.requests, attributes);
    result.observe(attempts, totals.attempts, attributes);
    result.observe(buffered, totals.buffered, attributes);
  };
  meter.addBatchObservableCallback(callback, observables);
}
