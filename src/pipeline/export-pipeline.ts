/**
 * The one home of orchestration, shared by both exporters: map → reject or batch → deliver (delivery/delivery.ts:
 * bounded concurrency, retries under one deadline, 413 splits, memory cap, spool) → exactly one ExportResult.
 * Also forceFlush/shutdown and the counters.
 */
import { ExportResultCode } from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import { BatchGrouper, serialiseEvent } from '../batching/request-batch.js';
import type { BatchLimits, RequestBatch } from '../batching/request-batch.js';
import type { ResolvedConfig } from '../config/resolve-config.js';
import { createDelivery } from '../delivery/delivery.js';
import type { DeliveryJob, Settled, SpoolSink } from '../delivery/delivery.js';
import { createLogger } from '../common/diag.js';
import { asError, causeOf, GravityExportError, GravityShutdownError } from '../common/errors.js';
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

/** How many distinct rejection reasons one warn line quotes (two of every kind; the count covers the rest). */
const MAX_REASONS_PER_WARNING = 32;
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

/**
 * Shutdown keeps delivering until this long before its budget ends (at most a quarter of the budget), then
 * abandons what is left (spooled or counted): the rest of the budget settles those records, lets the batch
 * processor hand over and settle its last export, and closes connections and spool.
 */
const ABANDON_LEAD_MILLIS = 3_000;
/** Of that lead, at most this much (and half) is kept for closing the connection pool and the spool. */
const CLOSE_RESERVE_MILLIS = 1_500;

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
   * Delivers batches its caller mapped and grouped (the import, which keeps each record's line number) as
   * one export, under one deadline; resolves (never rejects) with what became of each batch, in the order
   * given (a batch split after a 413 has an entry per part, in order). After shutdown, every batch fails.
   */
  deliver(batches: readonly RequestBatch[]): Promise<Settled[][]>;
  /**
   * Gives up at once on everything held, as shutdown does when its time is up (spooled where a spool is
   * configured, else dropped), and on whatever is handed over later: an interrupted caller then shuts down
   * without waiting for the deadline.
   */
  abandon(): void;
  /**
   * Waits for every export started so far (delivered, failed, or durably spooled), at most
   * `exportDeadlineMillis`. Never rejects: on timeout it reports what is left through `diag.warn`
   * (OTel's batch processors await it inside their own flush, where a rejection would wedge them).
   * Records waiting in the background for client initialisation are not waited for.
   */
  forceFlush(): Promise<void>;
  /**
   * Idempotent. Export fails fast from now on; waits for everything held, giving client-initialisation waits
   * one last attempt, until shortly before `shutdownTimeoutMillis` from `beginShutdown` (or from now); then
   * abandons what is left (spooled, or counted as dropped and reported), closes the connection pool and the
   * spool, within that budget. Resolves; never rejects.
   */
  shutdown(): Promise<void>;
  /**
   * Starts the shutdown budget (the processor helpers call it when their processor's shutdown begins, before
   * the processor's last exports): replays stop, client-initialisation waits get their last attempt, exports
   * get no deadline past the budget, and what is still held when it nearly runs out is abandoned. Idempotent.
   */
  beginShutdown(): void;
  getStats(): GravityExporterStats;
  /** Counts records the OTel batch processor in front of the exporter dropped (its queue was full). */
  countProcessorDrops(records: number): void;
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

/**
 * Resolves `true` when `promise` settles within `millis`, `false` otherwise. Its timer holds the process while
 * it waits: the work waited for may be idle on unref'd timers only (a retry's backoff), and a caller awaiting
 * `forceFlush()` or `shutdown()` (the last line of a script) must not see the process exit under it with its
 * records neither delivered nor counted.
 */
async function within(promise: Promise<unknown>, millis: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const elapsed = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, millis));
  });
  try {
    return await Promise.race([promise.then(() => true), elapsed]);
  } finally {
    clearTimeout(timer);
  }
}

/** The settings a pipeline maps and groups records with. */
export type MappingSettingsConfig = Pick<
  ResolvedConfig,
  'debug' | 'maxBatchSize' | 'maxBatchBytes' | 'maxBufferedRecords' | 'superProperties' | 'dynamicSuperProperties'
>;

/**
 * The request limits and mapping context of a pipeline made from `config`: one place, so that whatever maps
 * records ahead of `deliver` (the import) makes the exporters' payloads.
 */
export function mappingSettings(config: MappingSettingsConfig, now: () => number = Date.now): { limits: BatchLimits; context: MappingContext } {
  return {
    // A request never holds more records than delivery may hold (a batch over maxBufferedRecords could only be dropped).
    limits: {
      maxBatchSize: config.debug ? 1 : Math.min(config.maxBatchSize, config.maxBufferedRecords),
      maxBatchBytes: config.maxBatchBytes,
    },
    context: Object.freeze({
      libVersion: VERSION,
      strict: config.debug,
      now,
      superProperties: config.superProperties,
      dynamicSuperProperties: config.dynamicSuperProperties,
    }),
  };
}

export function createExportPipeline(config: ResolvedConfig, dependencies: PipelineDependencies = {}): ExportPipeline {
  const log = createLogger('export', config.diagnostics);
  const transport = dependencies.transport ?? createHttpTransport(config);
  const now = dependencies.now ?? Date.now;
  const stats = new StatsRecorder();
  const { limits, context: mappingContext } = mappingSettings(config, now);
  const random = dependencies.random ?? Math.random;
  const drainer: SpoolDrainer | undefined =
    dependencies.spool === undefined && config.spoolDir !== undefined
      ? createSpoolDrainer({
          dir: config.spoolDir,
          limits,
          requestDeadlineMillis: config.exportDeadlineMillis,
          initialBackoffMillis: Math.max(config.retry.initialBackoffMillis, 100),
          maxBackoffMillis: Math.max(config.retry.maxBackoffMillis, 1_000),
          maxConcurrentRequests: config.maxConcurrentRequests,
          random,
          diagnostics: config.diagnostics,
          stats,
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
  let shutdownPromise: Promise<void> | undefined;
  /** Set once shutdown began: when its budget ends, and when what is still held is abandoned. */
  let shutdownDeadlineMillis = Number.POSITIVE_INFINITY;
  let abandonAtMillis = Number.POSITIVE_INFINITY;
  let abandonTimer: NodeJS.Timeout | undefined;
  let abandoned = false;

  function startCollecting(observer: ExportObserver | undefined): Collected {
    const deadlineMillis = Math.min(now() + config.exportDeadlineMillis, abandonAtMillis);
    return { grouper: new BatchGrouper(limits), rejections: [], count: 0, job: delivery.open(deadlineMillis), observer };
  }

  function beginShutdown(): void {
    if (shutdownDeadlineMillis !== Number.POSITIVE_INFINITY) return;
    const startMillis = now();
    shutdownDeadlineMillis = startMillis + config.shutdownTimeoutMillis;
    abandonAtMillis = shutdownDeadlineMillis - Math.min(ABANDON_LEAD_MILLIS, Math.floor(config.shutdownTimeoutMillis / 4));
    drainer?.quiesce();
    delivery.wakeParked();
    abandonTimer = setTimeout(abandonHeld, Math.max(0, abandonAtMillis - startMillis));
    abandonTimer.unref();
  }

  /** Gives up on everything still held (spooled where possible, else counted as dropped), once. */
  function abandonHeld(): void {
    if (abandoned) return;
    abandoned = true;
    clearTimeout(abandonTimer);
    const left = delivery.pending(true);
    delivery.abortAll();
    drainer?.abortReplays();
    if (left.records === 0) return;
    log.warn(
      `shutdown: ${left.records} records of ${left.clients} clients were still undelivered ${config.shutdownTimeoutMillis - (shutdownDeadlineMillis - now())} ms ` +
        `into its ${config.shutdownTimeoutMillis} ms budget and were abandoned (${spool === undefined ? 'counted as dropped' : 'written to the spool where possible'})`,
    );
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
    return job.seal().then((perBatch) => {
      const settled = perBatch.flat();
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

  /** One line per export: each distinct reason once, with its code and how many records it rejected. */
  function reportRejections(rejections: readonly Rejection[], total: number): void {
    if (rejections.length === 0) return;
    const reasons = new Map<string, { readonly code: string; records: number }>();
    let unlisted = 0;
    for (const rejection of rejections) {
      stats.reject(rejection.code);
      const seen = reasons.get(rejection.reason);
      if (seen !== undefined) seen.records++;
      else if (reasons.size < MAX_REASONS_PER_WARNING) reasons.set(rejection.reason, { code: rejection.code, records: 1 });
      else unlisted++;
    }
    const listed = [...reasons].map(([reason, { code, records }]) => `${reason} (${code}${records > 1 ? `, ${records} records` : ''})`);
    const more = unlisted > 0 ? `; and ${unlisted} more` : '';
    const first = rejections[0]!;
    log.report(
      `rejected:${first.code}:${first.field}`,
      `${rejections.length} of ${total} records rejected and not sent: ${listed.join('; ')}${more}`,
    );
  }

  function toExportResult(settled: readonly Settled[]): ExportResult {
    const failures = settled.filter((s) => s.outcome === 'failed' || s.outcome === 'dropped');
    const parked = settled.filter((s) => s.outcome === 'parked').reduce((n, s) => n + s.records, 0);
    const spooled = settled.filter((s) => s.outcome === 'spooled').reduce((n, s) => n + s.records, 0);
    if (parked > 0) log.debug(`${parked} records wait in the background for their client to be initialised (code 2000)`);
    if (spooled > 0) {
      const why = settled.find((s) => s.outcome === 'spooled' && s.error !== undefined)?.error;
      log.report(
        `spooled:${causeOf(why)}`,
        `${spooled} records written to the spool for later delivery${why === undefined ? '' : ` (${config.endpoint.displayUrl}: ${why.message})`}`,
        'info',
      );
    }
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
    // The cause, not the client or the counts, makes a failure the same as the last one for the rate limit.
    log.report(`${dropped === failedRecords ? 'dropped' : 'not_delivered'}:${causeOf(first.error)}`, `${error.message} (endpoint ${config.endpoint.displayUrl})`);
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

    deliver(batches: readonly RequestBatch[]): Promise<Settled[][]> {
      if (shutdownPromise !== undefined) {
        const error = new GravityShutdownError();
        return Promise.resolve(batches.map((batch) => [{ outcome: 'failed', clientId: batch.clientId, records: batch.eventJson.length, error }]));
      }
      const job = delivery.open(now() + config.exportDeadlineMillis);
      const settled = handOver(job, batches).then(() => job.seal());
      track(settled.then(() => undefined));
      return settled;
    },

    abandon(): void {
      delivery.wakeParked();
      delivery.abortAll();
    },

    async forceFlush(): Promise<void> {
      // During shutdown, not past the point where what is held is abandoned (the processor flushes first).
      const waitMillis = Math.min(config.exportDeadlineMillis, Math.max(0, abandonAtMillis - now()));
      if (!(await within(allExports(), waitMillis))) {
        log.warn(`forceFlush: ${describeLeft(false)} still in delivery after ${waitMillis} ms`);
      }
    },

    shutdown(): Promise<void> {
      shutdownPromise ??= (async () => {
        beginShutdown();
        // Exports still in flight may park batches (code 2000) after this point: wait for them, then for those.
        const everything = allExports().then(() => delivery.parkedIdle());
        if (!(await within(everything, abandonAtMillis - now()))) {
          abandonHeld();
          // What was abandoned is being spooled or counted; the rest of the budget closes connections and spool.
          const closeReserveMillis = Math.min(CLOSE_RESERVE_MILLIS, (shutdownDeadlineMillis - abandonAtMillis) / 2);
          await within(everything, shutdownDeadlineMillis - now() - closeReserveMillis);
        }
        clearTimeout(abandonTimer);
        await drainer?.close();
        await transport.close();
        await dependencies.onShutdown?.();
      })();
      return shutdownPromise;
    },

    beginShutdown,

    getStats(): GravityExporterStats {
      return stats.snapshot();
    },

    countProcessorDrops(records: number): void {
      stats.droppedByProcessor += records;
    },
    spoolReady: () => drainer?.ready ?? Promise.resolve(false),
  };
}
