/**
 * The gateway's own counters, beside the pipeline's (received, sent, rejected by reason, retried, queued,
 * dropped...): as Prometheus text on `/metrics`, and as OTel observable instruments on a `meterProvider`.
 */
import type { BatchObservableCallback, MeterProvider, Observable } from '@opentelemetry/api';
import type { GravityExporterStats } from '../observability/stats.js';
import { VERSION } from '../common/version.js';

export type RequestOutcome = 'accepted' | 'partial' | 'throttled' | 'unavailable' | 'refused' | 'unauthenticated';

export interface GatewayCounters {
  /** Log records / span events of the requests taken into delivery (a sender's retry of a partly delivered request counts again). */
  readonly received: Record<'logs' | 'traces', number>;
  /** Of those, the ones that are not analytics (no `ge.*`): never mapped nor sent. */
  readonly ignored: Record<'logs' | 'traces', number>;
  /** Requests answered, by signal, protocol and outcome (`logs|http|accepted` → count). */
  readonly requests: Map<string, number>;
  /** Retries of requests already answered successfully (answered again, nothing sent). */
  duplicateRequests: number;
  /** Records a retry carried again whose client had been delivered by an earlier try (not sent again). */
  duplicateRecords: number;
}

export function createGatewayCounters(): GatewayCounters {
  return { received: { logs: 0, traces: 0 }, ignored: { logs: 0, traces: 0 }, requests: new Map(), duplicateRequests: 0, duplicateRecords: 0 };
}

export function countRequest(counters: GatewayCounters, signal: string, protocol: string, outcome: RequestOutcome): void {
  const key = `${signal}|${protocol}|${outcome}`;
  counters.requests.set(key, (counters.requests.get(key) ?? 0) + 1);
}

/** Everything `/metrics` and the OTel instruments show, read at once. */
export interface GatewaySnapshot {
  readonly counters: GatewayCounters;
  readonly pipeline: GravityExporterStats;
  /** Records admitted and not answered yet. */
  readonly queued: number;
  readonly ready: boolean;
}

type Labels = Readonly<Record<string, string>>;

interface Sample {
  readonly name: string;
  readonly type: 'counter' | 'gauge';
  readonly help: string;
  readonly values: ReadonlyArray<readonly [Labels, number]>;
}

const PIPELINE_COUNTERS: ReadonlyArray<readonly [keyof GravityExporterStats, string, string]> = [
  ['sent', 'records_sent', 'Records Gravity accepted'],
  ['retried', 'records_retried', 'Records sent to Gravity again after a retryable failure'],
  ['failed', 'records_failed', 'Records not delivered (refused by Gravity, or failed and handed back to the sender)'],
  ['dropped', 'records_dropped', 'Records given up without a verdict (buffer full, spool full, shutdown)'],
  ['spooled', 'records_spooled', 'Records written to the spool'],
  ['replayed', 'records_replayed', 'Records read back from the spool and delivered'],
];

function samples(snapshot: GatewaySnapshot): Sample[] {
  const { counters, pipeline } = snapshot;
  const bySignal = (field: Record<'logs' | 'traces', number>): Array<readonly [Labels, number]> => [
    [{ signal: 'logs' }, field.logs],
    [{ signal: 'traces' }, field.traces],
  ];
  const requests: Array<readonly [Labels, number]> = [...counters.requests].map(([key, count]) => {
    const [signal = '', protocol = '', outcome = ''] = key.split('|');
    return [{ signal, protocol, outcome }, count] as const;
  });
  return [
    { name: 'requests', type: 'counter', help: 'OTLP export requests answered, by outcome', values: requests },
    { name: 'records_received', type: 'counter', help: 'Log records and span events of the requests taken into delivery', values: bySignal(counters.received) },
    { name: 'records_ignored', type: 'counter', help: 'Records without ge.* attributes: not analytics, not sent', values: bySignal(counters.ignored) },
    {
      name: 'records_rejected',
      type: 'counter',
      help: 'Records rejected by validation, by reason',
      values: Object.entries(pipeline.rejectedByReason).map(([reason, count]) => [{ reason }, count ?? 0] as const),
    },
    ...PIPELINE_COUNTERS.map(([field, name, help]) => ({ name, type: 'counter' as const, help, values: [[{}, pipeline[field] as number] as const] })),
    { name: 'duplicate_requests', type: 'counter', help: 'Retries of requests already answered: answered again, nothing sent', values: [[{}, counters.duplicateRequests]] },
    { name: 'duplicate_records', type: 'counter', help: 'Records a retry carried again for clients already delivered: not sent again', values: [[{}, counters.duplicateRecords]] },
    { name: 'records_queued', type: 'gauge', help: 'Records of requests admitted and not answered yet', values: [[{}, snapshot.queued]] },
    { name: 'records_buffered', type: 'gauge', help: 'Records held in memory by delivery', values: [[{}, pipeline.buffered]] },
    { name: 'ready', type: 'gauge', help: '1 when the gateway takes requests (spool open, not draining)', values: [[{}, snapshot.ready ? 1 : 0]] },
  ];
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/**
 * The Prometheus text exposition format (version 0.0.4): `# HELP`, `# TYPE`, then one line per label set.
 * Counters carry the `_total` suffix. The process's CPU time and memory come last, under the names Prometheus
 * clients use for them.
 */
export function renderPrometheus(snapshot: GatewaySnapshot): string {
  const lines: string[] = [];
  const cpu = process.cpuUsage();
  const processLines = [
    '# HELP process_cpu_seconds_total User and system CPU time of the gateway process',
    '# TYPE process_cpu_seconds_total counter',
    `process_cpu_seconds_total ${(cpu.user + cpu.system) / 1e6}`,
    '# HELP process_resident_memory_bytes Resident memory of the gateway process',
    '# TYPE process_resident_memory_bytes gauge',
    `process_resident_memory_bytes ${process.memoryUsage.rss()}`,
  ];
  for (const sample of samples(snapshot)) {
    const name = `gravity_gateway_${sample.name}${sample.type === 'counter' ? '_total' : ''}`;
    lines.push(`# HELP ${name} ${sample.help}`, `# TYPE ${name} ${sample.type}`);
    for (const [labels, value] of sample.values) {
      const entries = Object.entries(labels);
      const rendered = entries.length === 0 ? '' : `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
      lines.push(`${name}${rendered} ${value}`);
    }
  }
  return `${[...lines, ...processLines].join('\n')}\n`;
}

/**
 * Registers the same numbers as OTel observable instruments (`gravity_gateway.requests`,
 * `gravity_gateway.records_received`, ... with the same attributes) on `meterProvider`. Returns what
 * unregisters them.
 */
export function registerGatewayMetrics(meterProvider: MeterProvider | undefined, read: () => GatewaySnapshot): () => void {
  if (meterProvider === undefined) return () => undefined;
  const meter = meterProvider.getMeter('gravity-otel-exporter/gateway', VERSION);
  const instruments = new Map<string, Observable>();
  for (const sample of samples(read())) {
    const name = `gravity_gateway.${sample.name}`;
    instruments.set(
      sample.name,
      sample.type === 'counter' ? meter.createObservableCounter(name, { description: sample.help }) : meter.createObservableGauge(name, { description: sample.help }),
    );
  }
  const callback: BatchObservableCallback = (result) => {
    for (const sample of samples(read())) {
      const instrument = instruments.get(sample.name);
      if (instrument === undefined) continue;
      for (const [labels, value] of sample.values) result.observe(instrument, value, labels);
    }
  };
  meter.addBatchObservableCallback(callback, [...instruments.values()]);
  return () => meter.removeBatchObservableCallback(callback, [...instruments.values()]);
}
