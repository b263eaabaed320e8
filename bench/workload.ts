/**
 * The bench's deterministic workload: a seeded stream of analytics records whose client ids follow
 * Zipf(1.1) over K clients; 80% track events with ~8 mixed properties (a nested object and an array
 * among them), 20% user-property operations spread over every operation kind.
 *
 * Every record that can carry values also carries three numeric markers the sink checks on receipt:
 * `bench_cidx` (the client index, so a record filed under another client is caught), `bench_seq`
 * (catches duplicates) and `bench_emit_ms` (emit time, for emit→accepted latency). Operations whose values
 * must be arrays carry them as one-element arrays; `unset` and `delete` carry none and are checked by the
 * per-client counts alone.
 */
import type { LogRecord } from '../test/helpers/otel-line.js';
import { createSeededRandom } from '../src/emulator/faults.js';
import { toProfileEventName, USER_OPERATIONS } from '../src/mapping/user-operation.js';
import type { UserOperation } from '../src/mapping/user-operation.js';

/** The user-property operations, drawn uniformly for the 20% of user operations. */
export type BenchUserOp = UserOperation;
export const BENCH_USER_OPS: readonly BenchUserOp[] = USER_OPERATIONS;

/** How a record carries the markers: as numbers, as one-element arrays, or not at all. */
export type MarkerForm = 'scalar' | 'array' | 'none';

export interface BenchRecord {
  /** Position in the stream, from 0. */
  readonly seq: number;
  /** Zipf rank − 1: client 0 is the busiest. */
  readonly clientIndex: number;
  readonly clientId: string;
  /** Track event name, or undefined for a user operation. */
  readonly eventName: string | undefined;
  /** User operation, or undefined for a track event. */
  readonly userOp: BenchUserOp | undefined;
  /** The log record body: a property map, a list of names (`unset`) or nothing (`delete`). */
  readonly body: Record<string, unknown> | string[] | undefined;
  readonly markerForm: MarkerForm;
}

export interface WorkloadOptions {
  readonly seed: number;
  /** K: number of distinct clients. */
  readonly clients: number;
  /** Zipf exponent. @default 1.1 */
  readonly zipfExponent?: number;
  /** Share of track events (the rest are user operations). @default 0.8 */
  readonly trackShare?: number;
}

/** Seeded PRNG (mulberry32, the emulator's): uniform floats in [0, 1). */
export const createRandom = createSeededRandom;

/** Draws ranks 0..k−1 with P(rank r) ∝ 1 / (r + 1)^exponent, by binary search over the CDF. */
export function createZipf(k: number, exponent: number, random: () => number): () => number {
  const cdf = new Float64Array(k);
  let sum = 0;
  for (let r = 0; r < k; r++) {
    sum += 1 / Math.pow(r + 1, exponent);
    cdf[r] = sum;
  }
  return () => {
    const target = random() * sum;
    let lo = 0;
    let hi = k - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid]! < target) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

export function clientIdOf(clientIndex: number): string {
  return `user-${clientIndex}`;
}

/** The client index a client id stands for, or −1. */
export function clientIndexOf(clientId: string): number {
  if (!clientId.startsWith('user-')) return -1;
  const n = Number(clientId.slice(5));
  return Number.isInteger(n) ? n : -1;
}

const EVENT_NAMES = ['purchase', 'page_view', 'add_to_cart', 'level_up', 'share', 'search'];
const CURRENCIES = ['CNY', 'USD', 'EUR', 'JPY'];
const PAGES = ['/home', '/shop/items', '/shop/cart', '/game/level', '/profile', '/search?q=sword'];
const TAGS = ['new', 'sale', 'vip', 'event', 'bundle', 'limited'];
const OSES = ['ios', 'android', 'windows', 'mac'];
const CHANNELS = ['wechat', 'douyin', 'organic', 'ads'];
const BADGES = ['gold', 'silver', 'bronze', 'streak', 'helper'];

/** An endless deterministic stream of records. */
export function createWorkload(options: WorkloadOptions): { next(): BenchRecord } {
  const random = createRandom(options.seed);
  const zipf = createZipf(options.clients, options.zipfExponent ?? 1.1, random);
  const trackShare = options.trackShare ?? 0.8;
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const int = (max: number): number => Math.floor(random() * max);
  let seq = 0;

  function trackBody(clientIndex: number, n: number): Record<string, unknown> {
    const tagCount = 1 + int(3);
    const tags: string[] = [];
    for (let i = 0; i < tagCount; i++) tags.push(pick(TAGS));
    return {
      item_id: `sku-${int(5000)}`,
      price: Math.round(random() * 100_000) / 100,
      quantity: 1 + int(5),
      currency: pick(CURRENCIES),
      is_first_purchase: random() < 0.1,
      page: pick(PAGES),
      tags,
      device: { os: pick(OSES), os_version: `${10 + int(8)}.${int(5)}`, screen: { width: 1080, height: 1920 + int(3) * 100 } },
      channel: pick(CHANNELS),
      bench_cidx: clientIndex,
      bench_seq: n,
      bench_emit_ms: 0,
    };
  }

  function opRecord(clientIndex: number, n: number, op: BenchUserOp): Pick<BenchRecord, 'body' | 'markerForm'> {
    const markers = { bench_cidx: clientIndex, bench_seq: n, bench_emit_ms: 0 };
    switch (op) {
      case 'set':
      case 'set_once':
        return {
          body: { nickname: `player${int(100_000)}`, level: 1 + int(80), vip: random() < 0.2, channel: pick(CHANNELS), ...markers },
          markerForm: 'scalar',
        };
      case 'increment':
      case 'max':
      case 'min':
        return { body: { coins: int(1000), score: Math.round(random() * 10_000) / 10, ...markers }, markerForm: 'scalar' };
      case 'append':
      case 'uniq_append':
        return {
          body: { badges: [pick(BADGES), pick(BADGES)], bench_cidx: [clientIndex], bench_seq: [n], bench_emit_ms: [0] },
          markerForm: 'array',
        };
      case 'unset':
        return { body: ['nickname', 'channel'], markerForm: 'none' };
      case 'delete':
        return { body: undefined, markerForm: 'none' };
    }
  }

  return {
    next(): BenchRecord {
      const n = seq++;
      const clientIndex = zipf();
      const clientId = clientIdOf(clientIndex);
      if (random() < trackShare) {
        return { seq: n, clientIndex, clientId, eventName: pick(EVENT_NAMES), userOp: undefined, body: trackBody(clientIndex, n), markerForm: 'scalar' };
      }
      const userOp = pick(BENCH_USER_OPS);
      return { seq: n, clientIndex, clientId, eventName: undefined, userOp, ...opRecord(clientIndex, n, userOp) };
    },
  };
}

/** The first `records` records of the stream. */
export function generateWorkload(options: WorkloadOptions & { readonly records: number }): BenchRecord[] {
  const stream = createWorkload(options);
  const out: BenchRecord[] = new Array(options.records);
  for (let i = 0; i < options.records; i++) out[i] = stream.next();
  return out;
}

/** Records per client index in the first `records` records of the stream. */
export function expectedCountsPerClient(options: WorkloadOptions & { readonly records: number }): Map<string, number> {
  const stream = createWorkload(options);
  const counts = new Map<string, number>();
  for (let i = 0; i < options.records; i++) {
    const { clientId } = stream.next();
    counts.set(clientId, (counts.get(clientId) ?? 0) + 1);
  }
  return counts;
}

/** Sets the emit-time marker (epoch ms) just before the record is emitted or encoded. */
export function stampEmitTime(record: BenchRecord, nowMillis: number): void {
  const body = record.body;
  if (record.markerForm === 'scalar') (body as Record<string, unknown>).bench_emit_ms = nowMillis;
  else if (record.markerForm === 'array') (body as Record<string, unknown>).bench_emit_ms = [nowMillis];
}

/** The OTel log record following the `ge.*` contract: ids and operation in attributes, properties in the body. */
export function toLogRecord(record: BenchRecord): LogRecord {
  const attributes: Record<string, string> = { 'ge.client_id': record.clientId };
  if (record.userOp !== undefined) attributes['ge.user_op'] = record.userOp;
  const logRecord: LogRecord = { attributes };
  if (record.eventName !== undefined) logRecord.eventName = record.eventName;
  if (record.body !== undefined) logRecord.body = record.body as LogRecord['body'];
  return logRecord;
}

/** The `event_list` item the exporter should produce for the record (what the floors encode). */
export function toWireEvent(record: BenchRecord, timeMillis: number, libVersion: string): Record<string, unknown> {
  if (record.userOp === undefined) {
    return {
      type: 'track',
      event: record.eventName,
      time: timeMillis,
      time_free: false,
      properties: { $lib: 'node', $lib_version: libVersion, ...(record.body as Record<string, unknown>) },
    };
  }
  let properties: Record<string, unknown>;
  if (record.userOp === 'delete') properties = {};
  else if (record.userOp === 'unset') properties = Object.fromEntries((record.body as string[]).map((k) => [k, 0]));
  else properties = { ...(record.body as Record<string, unknown>) };
  return { type: 'profile', event: toProfileEventName(record.userOp), time: timeMillis, time_free: false, properties };
}

/**
 * The record as one line of an import file (`gravity-otel import`): the client id, `type`/`event` for a track
 * event or `op` for a user operation, the given time, and the properties (the list of names for `unset`).
 */
export function toImportLine(record: BenchRecord, timeMillis: number): string {
  const line: Record<string, unknown> = { client_id: record.clientId };
  if (record.userOp === undefined) {
    line.type = 'track';
    line.event = record.eventName;
  } else {
    line.op = record.userOp;
  }
  line.time = timeMillis;
  if (record.body !== undefined) line.properties = record.body;
  return JSON.stringify(line);
}
