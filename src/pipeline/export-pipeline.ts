/**
 * The one home of orchestration, shared by both exporters: map → reject or batch → deliver (delivery/delivery.ts:
 * bounded concurrency, retries under one deadline, 413 splits, memory cap, spool) → exactly one ExportResult.
 * Also forceFlush/shutdown and the counters.
 */
import { ExportResultCode } from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import { BatchGrouper, serialiseEvent } from './batching.js';
import type { RequestBatch } from './batching.js';
import type { ResolvedConfig } from '../config/resolve-config.js';
import { createDelivery } from '../delivery/delivery.js';
import type { DeliveryJob, Settled, SpoolSink } from '../delivery/delivery.js';
import { createLogger } from '../observability/diag.js';
import { asError, GravityExportError, GravityShutdownError } from '../common/errors.js';
import type { MapResult, MappingContext, Rejection } from '../mapping/map-record.js';
import { createSpoolDrainer } from '../delivery/spool-drainer.js';
import type { SpoolDrainer } from '../delivery/spool-drainer.js';
import { StatsRecorder } from '../observability/stats.js';
import type { GravityExporterStats } from '../observability/stats.js';
import { createHttpTransport } from '../transport/http-transport.js';
import { sleepUnref } from '../transport/retrying-transport.js';
import type { SleepFunction } from '../transport/retrying-transport.js';
import type { Transport } from '../transport/types.js';
import { VERSION } from '../common/version.js';

/** How many rejection reasons one warn line quotes (enough for one of every kind; the count covers the rest). */
const MAX_REASONS_PER_WARNING = 20;
/** Items an export maps and serialises before it yields to the event loop (~10 ms of work on the bench workload). */
const ITEMS_PER_SLICE = 2_048;

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** One export in progress: its records grouped as they are mapped, and their delivery. */
interface Collected {
  readonly grouper: BatchGrouper;
  readonly rejections: Rejection[];
  count: number;
  readonly job: DeliveryJob;
  readonly observer: ExportObserver | undefined;
}

/**
 * Told what became of one export's records, beside its `ExportResult`: the gateway answers each OTLP request
 * from it (which records were rejected, which clients' records were delivered).
 */
export interface ExportObserver {
  /** The records rejected by validation (or too large to send), once the export is mapped. */
  onRejections?(rejections: readonly Rejection[]): void;
  /** What became of every batch, just before the result callback. */
  onSettled?(settled: readonly Settled[]): void;
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
  export<T>(items: readonly T[], map: RecordMapper<T>, resultCallback: (result: ExportResult) => void, observer?: ExportObserver): void;
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
  /** Resolves `true` once the spool (`spoolDir`) is open, `false` when there is none or it could not be opened. */
  spoolReady(): Promise<boolean>;
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
  /**
   * Every batch goes to the spool as soon as it is mapped, and the spool's drainer delivers it: an export is
   * done once its records are on disk (the gateway's spool acknowledgement). Needs `spoolDir`. @default false
   */
  readonly spoolFirst?: boolean;
}

/** A record that threw while it was read or serialised (a getter, a Proxy, a `toJSON`): rejected on its own. */
function unreadable(error: unknown): Rejection {
  return { ok: false, code: 'invalid_value', field: 'record', reason: `record: reading it threw: ${asError(error).message}` };
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
  // A request never holds more records than delivery may hold (a batch over maxBufferedRecords could only be dropped).
  const limits = {
    maxBatchSize: config.debug ? 1 : Math.min(config.maxBatchSize, config.maxBufferedRecords),
    maxBatchBytes: config.maxBatchBytes,
  };
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
  if (dependencies.spoolFirst === true && spool === undefined) throw new TypeError('spoolFirst needs a spool (spoolDir)');
  const spoolFirst = dependencies.spoolFirst === true;
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

  function startCollecting(observer: ExportObserver | undefined): Collected {
    return { grouper: new BatchGrouper(limits), rejections: [], count: 0, job: delivery.open(now() + config.exportDeadlineMillis), observer };
  }

  /**
   * Maps and serialises `items[start, end)` into `into`. An item that throws while it is read (a getter, a
   * Proxy, a `toJSON`) is rejected alone: the records beside it still go out.
   */
  function collectSlice<T>(items: readonly T[], start: number, end: number, map: RecordMapper<T>, into: Collected): void {
    for (let i = start; i < end; i++) {
      let mapped: ReturnType<RecordMapper<T>>;
      try {
        mapped = map(items[i]!, mappingContext);
      } catch (error) {
        take(unreadable(error), into);
        continue;
      }
      if (Array.isArray(mapped)) {
        for (const result of mapped as readonly (MapResult | undefined)[]) take(result, into);
      } else {
        take(mapped as MapResult | undefined, into);
      }
    }
  }

  function take(result: MapResult | undefined, into: Collected): void {
    into.count++;
    stats.received++;
    if (result === undefined) {
      stats.ignored++;
    } else if (result.ok) {
      const record = result.value;
      let json: string;
      try {
        json = serialiseEvent(record);
      } catch (error) {
        into.rejections.push(unreadable(error));
        return;
      }
      into.grouper.addEvent(record.clientId, record.clientIp, record.clientUa, json);
    } else {
      into.rejections.push(result);
    }
  }

  /** Sends the export's open batches too, reports its rejections; resolves with its one result. */
  async function finishCollecting(collected: Collected): Promise<ExportResult> {
    const { grouper, rejections, count, job, observer } = collected;
    const rejected = rejections.concat(grouper.oversized);
    reportRejections(rejected, count);
    observer?.onRejections?.(rejected);
    if (grouper.records > 0) log.debug(`exporting ${grouper.records} records`);
    await handOver(job, grouper.finish());
    return sealed(job, observer);
  }

  /** Not in an async function: its frame would keep the mapped records alive while delivery waits. */
  function sealed(job: DeliveryJob, observer: ExportObserver | undefined): Promise<ExportResult> {
    return job.seal().then((settled) => {
      observer?.onSettled?.(settled);
      return toExportResult(settled);
    });
  }

  /**
   * Hands batches to delivery in order, as many at a time as `maxBufferedRecords` allows (older exports' held
   * records not on the wire make way, as always). When the export's own earlier requests fill the cap, it
   * waits for them rather than dropping its own records; only with nothing of its own left to wait for (or
   * past its deadline) does a batch that still does not fit go over the cap, dropped and reported.
   */
  async function handOver(job: DeliveryJob, batches: readonly RequestBatch[]): Promise<void> {
    if (spoolFirst) {
      job.spool(batches);
      return;
    }
    let left = batches.reduce((n, batch) => n + batch.eventJson.length, 0);
    let start = 0;
    while (start < batches.length) {
      const room = job.claim(left);
      let end = start;
      let records = 0;
      while (end < batches.length && records + batches[end]!.eventJson.length <= room) records += batches[end++]!.eventJson.length;
      if (end === start) {
        if (job.inDelivery() && now() < job.deadlineMillis) {
          await job.room(batches[start]!.eventJson.length);
          continue;
        }
        records = batches[start]!.eventJson.length;
        end = start + 1;
      }
      job.add(start === 0 && end === batches.length ? batches : batches.slice(start, end));
      left -= records;
      start = end;
    }
  }

  /**
   * A large export is mapped a slice at a time, yielding to the event loop before each slice: the processor
   * calls `export()` from inside `logger.emit` once its queue reaches a full batch, and a batch of 65,536
   * records takes ~0.3 s to map and serialise, which must land neither on that emit call nor in one block.
   * Each client's batches that fill up meanwhile are sent at once, so the requests overlap the mapping.
   */
  async function collectInSlices<T>(items: readonly T[], map: RecordMapper<T>, observer: ExportObserver | undefined): Promise<ExportResult> {
    const collected = startCollecting(observer);
    const { grouper, job } = collected;
    try {
      for (let start = 0; start < items.length; start += ITEMS_PER_SLICE) {
        await yieldToEventLoop();
        collectSlice(items, start, Math.min(items.length, start + ITEMS_PER_SLICE), map, collected);
        await handOver(job, grouper.takeClosed());
      }
    } catch (error) {
      // What was handed over still goes out (flush and shutdown wait for it); the export reports the failure.
      track(job.seal().then(() => undefined));
      throw error;
    }
    return finishCollecting(collected);
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
    export<T>(items: readonly T[], map: RecordMapper<T>, resultCallback: (result: ExportResult) => void, observer?: ExportObserver): void {
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
        result = collectInSlices(items, map, observer);
      } else {
        const collected = startCollecting(observer);
        try {
          collectSlice(items, 0, items.length, map, collected);
          result = finishCollecting(collected);
        } catch (error) {
          track(collected.job.seal().then(() => undefined));
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
        // Exports still in flight may park batches (code 2000) after this point: wait for them, then for those.
        const everything = allExports().then(() => delivery.parkedIdle());
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

    spoolReady: () => drainer?.ready ?? Promise.resolve(false),
  };
}
