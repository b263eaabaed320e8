/**
 * The one home of orchestration, shared by both exporters: map → reject or batch → deliver (delivery.ts:
 * bounded concurrency, retries under one deadline, 413 splits, memory cap, spool) → exactly one ExportResult.
 * Also forceFlush/shutdown and the counters.
 */
import { ExportResultCode } from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import { groupIntoBatches, serialiseRecord } from './batching.js';
import type { SerialisedRecord } from './batching.js';
import type { ResolvedConfig } from './config.js';
import { createDelivery } from './delivery.js';
import type { Settled, SpoolSink } from './delivery.js';
import { createLogger } from './diag.js';
import { asError, GravityExportError, GravityShutdownError } from './errors.js';
import type { MapResult, MappingContext, Rejection } from './mapping/map-record.js';
import { createSpoolDrainer } from './spool-drainer.js';
import type { SpoolDrainer } from './spool-drainer.js';
import { StatsRecorder } from './stats.js';
import type { GravityExporterStats } from './stats.js';
import { createHttpTransport } from './transport/http-transport.js';
import { sleepUnref } from './transport/retrying-transport.js';
import type { SleepFunction } from './transport/retrying-transport.js';
import type { Transport } from './transport/types.js';
import { VERSION } from './version.js';

/** How many rejection reasons one warn line quotes (enough for one of every kind; the count covers the rest). */
const MAX_REASONS_PER_WARNING = 20;
/** Items an export maps and serialises before it yields to the event loop (~10 ms of work on the bench workload). */
const ITEMS_PER_SLICE = 2_048;

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** What mapping one export's items produced. */
interface Collected {
  readonly records: SerialisedRecord[];
  readonly rejections: Rejection[];
  count: number;
}

/** After shutdown abandons what is left, it waits at most this long for those records to be spooled or counted. */
const ABANDON_GRACE_MILLIS = 2_000;

/**
 * Maps one exporter input to zero or more results; `undefined` = not analytics. An input holding several
 * records (a span and its events) returns one entry per record, `undefined` for each that is not analytics.
 */
export type RecordMapper<T> = (
  item: T,
  ctx: MappingContext,
) => MapResult | readonly (MapResult | undefined)[] | undefined;

export interface ExportPipeline {
  export<T>(items: readonly T[], map: RecordMapper<T>, resultCallback: (result: ExportResult) => void): void;
  /**
   * Waits for every export started so far (delivered, failed, or durably spooled), at most
   * `exportDeadlineMillis`. Never rejects: on timeout it reports what is left through `diag.warn`
   * (OTel's batch processors await it inside their own flush, where a rejection would wedge them).
   * Records waiting in the background for client initialisation are not waited for.
   */
  forceFlush(): Promise<void>;
  /**
   * Idempotent. Export fails fast from now on; waits (at most `exportDeadlineMillis`) for everything held,
   * giving client-initialisation waits one last attempt; then abandons what is left (spooled, or counted as
   * dropped and reported), closes the connection pool and the spool. Resolves; never rejects.
   */
  shutdown(): Promise<void>;
  getStats(): GravityExporterStats;
}

export interface PipelineDependencies {
  readonly transport?: Transport;
  /** Clock for mapping and for retry deadlines. @default Date.now */
  readonly now?: () => number;
  /** Backoff sleeps (tests pass a fast one). @default an unref'd timer */
  readonly sleep?: SleepFunction;
  /** Jitter source in [0, 1). @default Math.random */
  readonly random?: () => number;
  /** Where undeliverable records go. @default none */
  readonly spool?: SpoolSink;
  /** Runs after the transport is closed on shutdown (the spool's close). */
  readonly onShutdown?: () => Promise<void>;
}

function once(callback: (result: ExportResult) => void): (result: ExportResult) => void {
  let called = false;
  return (result) => {
    if (called) return;
    called = true;
    callback(result);
  };
}

/** Resolves `true` when `promise` settles within `millis`, `false` otherwise; its timer never holds the process. */
async function within(promise: Promise<unknown>, millis: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const elapsed = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, millis));
    timer.unref();
  });
  try {
    return await Promise.race([promise.then(() => true), elapsed]);
  } finally {
    clearTimeout(timer);
  }
}

export function createExportPipeline(config: ResolvedConfig, dependencies: PipelineDependencies = {}): ExportPipeline {
  const log = createLogger('export');
  const transport = dependencies.transport ?? createHttpTransport(config);
  const now = dependencies.now ?? Date.now;
  const stats = new StatsRecorder();
  const limits = { maxBatchSize: config.debug ? 1 : config.maxBatchSize, maxBatchBytes: config.maxBatchBytes };
  const random = dependencies.random ?? Math.random;
  const drainer: SpoolDrainer | undefined =
    dependencies.spool === undefined && config.spoolDir !== undefined
      ? createSpoolDrainer({
          dir: config.spoolDir,
          limits,
          roundDeadlineMillis: config.exportDeadlineMillis,
          initialBackoffMillis: Math.max(config.retry.initialBackoffMillis, 100),
          maxBackoffMillis: Math.max(config.retry.maxBackoffMillis, 1_000),
          now,
          random,
        })
      : undefined;
  const spool = dependencies.spool ?? drainer?.sink;
  const delivery = createDelivery({
    config,
    transport,
    stats,
    now,
    sleep: dependencies.sleep ?? sleepUnref,
    random,
    spool,
  });
  drainer?.start(delivery);
  const pending = new Set<Promise<void>>();
  const mappingContext: MappingContext = Object.freeze({
    libVersion: VERSION,
    strict: config.debug,
    now: dependencies.now ?? Date.now,
    superProperties: config.superProperties,
    dynamicSuperProperties: config.dynamicSuperProperties,
  });
  let shutdownPromise: Promise<void> | undefined;

  /** Maps and serialises `items[start, end)` into `into`. */
  function collectSlice<T>(items: readonly T[], start: number, end: number, map: RecordMapper<T>, into: Collected): void {
    for (let i = start; i < end; i++) {
      const mapped = map(items[i]!, mappingContext);
      if (Array.isArray(mapped)) {
        for (const result of mapped as readonly (MapResult | undefined)[]) take(result, into);
      } else {
        take(mapped as MapResult | undefined, into);
      }
    }
  }

  function take(result: MapResult | undefined, into: Collected): void {
    into.count++;
    if (result === undefined) {
      stats.ignored++;
    } else if (result.ok) {
      into.records.push(serialiseRecord(result.value));
    } else {
      into.rejections.push(result);
    }
  }

  /** Groups, reports rejections and delivers what one export collected; resolves with its one result. */
  function deliverCollected(collected: Collected): Promise<ExportResult> {
    const { records, rejections, count } = collected;
    stats.received += count;
    const { batches, oversized } = groupIntoBatches(records, limits);
    reportRejections(rejections.concat(oversized), count);
    if (batches.length === 0) return Promise.resolve({ code: ExportResultCode.SUCCESS });
    log.debug(`exporting ${records.length - oversized.length} records in ${batches.length} requests`);
    // Not an async function: its frame would keep the mapped records alive while delivery waits.
    return delivery.deliver(batches, now() + config.exportDeadlineMillis).then(toExportResult);
  }

  /**
   * A large export is mapped a slice at a time, yielding to the event loop before each slice: the processor
   * calls `export()` from inside `logger.emit` once its queue reaches a full batch, and a batch of 65,536
   * records takes ~0.3 s to map and serialise, which must land neither on that emit call nor in one block.
   */
  async function collectInSlices<T>(items: readonly T[], map: RecordMapper<T>): Promise<ExportResult> {
    const collected: Collected = { records: [], rejections: [], count: 0 };
    for (let start = 0; start < items.length; start += ITEMS_PER_SLICE) {
      await yieldToEventLoop();
      collectSlice(items, start, Math.min(items.length, start + ITEMS_PER_SLICE), map, collected);
    }
    return deliverCollected(collected);
  }

  function reportRejections(rejections: readonly Rejection[], total: number): void {
    if (rejections.length === 0) return;
    for (const rejection of rejections) stats.reject(rejection.code);
    const reasons = rejections.slice(0, MAX_REASONS_PER_WARNING).map((r) => r.reason);
    const more = rejections.length > reasons.length ? `; and ${rejections.length - reasons.length} more` : '';
    log.warn(`${rejections.length} of ${total} records rejected and not sent: ${reasons.join('; ')}${more}`);
  }

  function toExportResult(settled: readonly Settled[]): ExportResult {
    const failures = settled.filter((s) => s.outcome === 'failed' || s.outcome === 'dropped');
    const parked = settled.filter((s) => s.outcome === 'parked').reduce((n, s) => n + s.records, 0);
    const spooled = settled.filter((s) => s.outcome === 'spooled').reduce((n, s) => n + s.records, 0);
    if (parked > 0) log.debug(`${parked} records wait in the background for their client to be initialised (code 2000)`);
    if (spooled > 0) log.debug(`${spooled} records written to the spool for later delivery`);
    if (failures.length === 0) return { code: ExportResultCode.SUCCESS };
    const records = settled.reduce((n, s) => n + s.records, 0);
    const count = (outcome: string): number => failures.filter((f) => f.outcome === outcome).reduce((n, f) => n + f.records, 0);
    const failedRecords = count('failed') + count('dropped');
    const clients = new Set(settled.map((s) => s.clientId)).size;
    const failedClients = new Set(failures.map((f) => f.clientId)).size;
    const first = failures[0]!;
    const dropped = count('dropped');
    const error = new GravityExportError(
      `${failedRecords} of ${records} records (${failedClients} of ${clients} clients) were not delivered` +
        `${dropped > 0 ? ` (${dropped} dropped unsent)` : ''}; first: client ${JSON.stringify(first.clientId)}: ${first.error?.message ?? first.outcome}`,
      dropped === failedRecords ? 'GRAVITY_RECORDS_DROPPED' : 'GRAVITY_DELIVERY_FAILED',
      { cause: first.error },
    );
    log.warn(error.message);
    return { code: ExportResultCode.FAILED, error };
  }

  function track(promise: Promise<void>): void {
    pending.add(promise);
    void promise.finally(() => pending.delete(promise));
  }

  async function allExports(): Promise<void> {
    while (pending.size > 0) await Promise.all([...pending]);
  }

  function describeLeft(includeParked: boolean): string {
    const left = delivery.pending(includeParked);
    return `${left.records} records of ${left.clients} clients`;
  }

  return {
    export<T>(items: readonly T[], map: RecordMapper<T>, resultCallback: (result: ExportResult) => void): void {
      const done = once(resultCallback);
      if (shutdownPromise !== undefined) {
        done({ code: ExportResultCode.FAILED, error: new GravityShutdownError() });
        return;
      }
      const failed = (error: unknown): void => {
        log.error(`export failed unexpectedly: ${asError(error).message}`);
        done({ code: ExportResultCode.FAILED, error: asError(error) });
      };
      let result: Promise<ExportResult>;
      if (items.length > ITEMS_PER_SLICE) {
        result = collectInSlices(items, map);
      } else {
        try {
          const collected: Collected = { records: [], rejections: [], count: 0 };
          collectSlice(items, 0, items.length, map, collected);
          result = deliverCollected(collected);
        } catch (error) {
          failed(error);
          return;
        }
      }
      track(result.then(done, failed));
    },

    async forceFlush(): Promise<void> {
      if (!(await within(allExports(), config.exportDeadlineMillis))) {
        log.warn(`forceFlush: ${describeLeft(false)} still in delivery after ${config.exportDeadlineMillis} ms`);
      }
    },

    shutdown(): Promise<void> {
      shutdownPromise ??= (async () => {
        delivery.wakeParked();
        const everything = Promise.all([allExports(), delivery.parkedIdle()]);
        if (!(await within(everything, config.exportDeadlineMillis))) {
          const left = describeLeft(true);
          delivery.abortAll();
          await within(everything, ABANDON_GRACE_MILLIS);
          log.warn(
            `shutdown: ${left} were still undelivered after ${config.exportDeadlineMillis} ms and were abandoned ` +
              `(${spool === undefined ? 'counted as dropped' : 'written to the spool where possible'})`,
          );
        }
        await drainer?.close();
        await transport.close();
        await dependencies.onShutdown?.();
      })();
      return shutdownPromise;
    },

    getStats(): GravityExporterStats {
      return stats.snapshot();
    },
  };
}
