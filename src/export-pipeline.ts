/**
 * The one home of orchestration, shared by both exporters: map → reject or batch → encode → send with
 * bounded concurrency → exactly one ExportResult. Also forceFlush/shutdown and the counters.
 */
import { ExportResultCode } from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import { groupIntoBatches } from './batching.js';
import type { RequestBatch } from './batching.js';
import type { ResolvedConfig } from './config.js';
import { createLogger } from './diag.js';
import { encodeBody, toPayloadJson } from './encode.js';
import { asError, GravityExportError, GravityShutdownError } from './errors.js';
import type { GravityRecord, MapResult, MappingContext, Rejection } from './mapping/map-record.js';
import { StatsRecorder } from './stats.js';
import type { GravityExporterStats } from './stats.js';
import { createHttpTransport } from './transport/http-transport.js';
import type { Transport } from './transport/types.js';
import { VERSION } from './version.js';

/** How many rejection reasons one warn line quotes. */
const MAX_REASONS_PER_WARNING = 5;

/** Maps one exporter input to zero or more results; `undefined` = not analytics. */
export type RecordMapper<T> = (item: T, ctx: MappingContext) => MapResult | readonly MapResult[] | undefined;

export interface ExportPipeline {
  export<T>(items: readonly T[], map: RecordMapper<T>, resultCallback: (result: ExportResult) => void): void;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
  getStats(): GravityExporterStats;
}

export interface PipelineDependencies {
  readonly transport?: Transport;
  readonly now?: () => number;
}

interface Failure {
  readonly batch: RequestBatch;
  readonly error: Error;
}

/** A counting semaphore: at most `limit` holders at once, waiters served in order. */
class Semaphore {
  private _free: number;
  private readonly _waiters: Array<() => void> = [];
  constructor(limit: number) {
    this._free = limit;
  }
  async acquire(): Promise<void> {
    if (this._free > 0) {
      this._free--;
      return;
    }
    await new Promise<void>((resolve) => this._waiters.push(resolve));
  }
  release(): void {
    const next = this._waiters.shift();
    if (next !== undefined) next();
    else this._free++;
  }
}

function once(callback: (result: ExportResult) => void): (result: ExportResult) => void {
  let called = false;
  return (result) => {
    if (called) return;
    called = true;
    callback(result);
  };
}

export function createExportPipeline(config: ResolvedConfig, dependencies: PipelineDependencies = {}): ExportPipeline {
  const log = createLogger('export');
  const transport = dependencies.transport ?? createHttpTransport(config);
  const stats = new StatsRecorder();
  const slots = new Semaphore(config.maxConcurrentRequests);
  const pending = new Set<Promise<void>>();
  const mappingContext: MappingContext = Object.freeze({
    libVersion: VERSION,
    strict: config.debug,
    now: dependencies.now ?? Date.now,
  });
  const limits = { maxBatchSize: config.debug ? 1 : config.maxBatchSize, maxBatchBytes: config.maxBatchBytes };
  const compression = config.debug ? 'none' : config.compression;
  let shutdownPromise: Promise<void> | undefined;

  function collect<T>(items: readonly T[], map: RecordMapper<T>): { records: GravityRecord[]; rejections: Rejection[]; count: number } {
    const records: GravityRecord[] = [];
    const rejections: Rejection[] = [];
    let count = 0;
    const take = (result: MapResult): void => {
      count++;
      if (result.ok) records.push(result.value);
      else rejections.push(result);
    };
    for (const item of items) {
      const mapped = map(item, mappingContext);
      if (mapped === undefined) {
        count++;
        stats.ignored++;
      } else if (Array.isArray(mapped)) {
        for (const result of mapped as readonly MapResult[]) take(result);
      } else {
        take(mapped as MapResult);
      }
    }
    return { records, rejections, count };
  }

  function reportRejections(rejections: readonly Rejection[], total: number): void {
    if (rejections.length === 0) return;
    for (const rejection of rejections) stats.reject(rejection.code);
    const reasons = rejections.slice(0, MAX_REASONS_PER_WARNING).map((r) => r.reason);
    const more = rejections.length > reasons.length ? `; and ${rejections.length - reasons.length} more` : '';
    log.warn(`${rejections.length} of ${total} records rejected and not sent: ${reasons.join('; ')}${more}`);
  }

  async function sendBatch(batch: RequestBatch): Promise<Failure | undefined> {
    await slots.acquire();
    try {
      const { body, compressed } = await encodeBody(toPayloadJson(batch), compression);
      stats.requests++;
      const result = await transport.send({ body, compressed, recordCount: batch.eventJson.length });
      if (result.status === 'success') {
        stats.sent += batch.eventJson.length;
        return undefined;
      }
      stats.failedRequests++;
      stats.failed += batch.eventJson.length;
      return { batch, error: result.error };
    } catch (error) {
      stats.failed += batch.eventJson.length;
      return { batch, error: asError(error) };
    } finally {
      slots.release();
    }
  }

  async function deliver(batches: readonly RequestBatch[]): Promise<ExportResult> {
    const outcomes = await Promise.all(batches.map(sendBatch));
    const failures = outcomes.filter((f): f is Failure => f !== undefined);
    if (failures.length === 0) return { code: ExportResultCode.SUCCESS };
    const records = batches.reduce((n, b) => n + b.eventJson.length, 0);
    const failedRecords = failures.reduce((n, f) => n + f.batch.eventJson.length, 0);
    const clients = new Set(batches.map((b) => b.clientId)).size;
    const failedClients = new Set(failures.map((f) => f.batch.clientId)).size;
    const first = failures[0]!;
    const error = new GravityExportError(
      `${failedRecords} of ${records} records (${failedClients} of ${clients} clients) were not delivered; ` +
        `first: client ${JSON.stringify(first.batch.clientId)}: ${first.error.message}`,
      'GRAVITY_DELIVERY_FAILED',
      { cause: first.error },
    );
    log.warn(error.message);
    return { code: ExportResultCode.FAILED, error };
  }

  function track(promise: Promise<void>): void {
    pending.add(promise);
    void promise.finally(() => pending.delete(promise));
  }

  return {
    export<T>(items: readonly T[], map: RecordMapper<T>, resultCallback: (result: ExportResult) => void): void {
      const done = once(resultCallback);
      if (shutdownPromise !== undefined) {
        done({ code: ExportResultCode.FAILED, error: new GravityShutdownError() });
        return;
      }
      try {
        const { records, rejections, count } = collect(items, map);
        stats.received += count;
        const { batches, oversized } = groupIntoBatches(records, limits);
        reportRejections(rejections.concat(oversized), count);
        if (batches.length === 0) {
          done({ code: ExportResultCode.SUCCESS });
          return;
        }
        log.debug(`exporting ${records.length - oversized.length} records in ${batches.length} requests`);
        track(
          deliver(batches).then(done, (error: unknown) => done({ code: ExportResultCode.FAILED, error: asError(error) })),
        );
      } catch (error) {
        log.error(`export failed unexpectedly: ${asError(error).message}`);
        done({ code: ExportResultCode.FAILED, error: asError(error) });
      }
    },

    async forceFlush(): Promise<void> {
      while (pending.size > 0) await Promise.all([...pending]);
    },

    shutdown(): Promise<void> {
      shutdownPromise ??= (async () => {
        while (pending.size > 0) await Promise.all([...pending]);
        await transport.close();
      })();
      return shutdownPromise;
    },

    getStats(): GravityExporterStats {
      return stats.snapshot();
    },
  };
}
