/**
 * One OTLP export request, whichever receiver took it: decode → recognise a retry → admit under the memory cap
 * → map and deliver through the export pipeline (the in-process exporters' own) → one answer.
 */
import type { ExportResult } from '@opentelemetry/core';
import type { Settled } from '../delivery/delivery.js';
import { mapLogRecord } from '../mapping/map-log-record.js';
import { createSpanEventMapper } from '../mapping/map-span-event.js';
import type { SpanEventMappingOptions } from '../mapping/map-span-event.js';
import type { MapResult, MappingContext, Rejection } from '../mapping/map-record.js';
import type { ExportPipeline, RecordMapper } from '../pipeline/export-pipeline.js';
import {
  describeRejected,
  DRAINING_RETRY_AFTER_MILLIS,
  GRPC_CODE,
  OVERLOADED_RETRY_AFTER_MILLIS,
  retryAfterFor,
  summariseSettled,
  UNAVAILABLE_RETRY_AFTER_MILLIS,
} from './answers.js';
import type { Answer } from './answers.js';
import { decodeLogsJson, decodeTracesJson } from './otlp-json.js';
import { decodeLogsProtobuf, decodeTracesProtobuf } from './otlp-protobuf.js';
import { OtlpDecodeError, readLogRecord, readSpan } from './otlp-records.js';
import type { DecodedRequest, GatewayResource, WireEntry } from './otlp-records.js';
import { RequestMemory } from './request-memory.js';
import type { RememberedRequest } from './request-memory.js';
import type { GatewayCounters } from './gateway-metrics.js';

export type Signal = 'logs' | 'traces';
export type Encoding = 'protobuf' | 'json';
export type Protocol = 'http' | 'grpc';

export interface ExportHandlerOptions {
  readonly pipeline: ExportPipeline;
  readonly spanOptions: SpanEventMappingOptions;
  readonly resourceAttributes: readonly string[];
  /** Records admitted at once (the pipeline's `maxBufferedRecords`): beyond it requests are answered 429. */
  readonly maxInFlightRecords: number;
  readonly counters: GatewayCounters;
  readonly now?: () => number;
}

export interface ExportHandler {
  handle(signal: Signal, encoding: Encoding, body: Uint8Array): Promise<Answer>;
  /** Records of requests admitted and not answered yet. */
  inFlightRecords(): number;
  /** From now on, requests are answered with a retryable "shutting down". */
  startDraining(): void;
  /** Resolves when no request is in progress. */
  idle(): Promise<void>;
  /** Answers every request still in progress with a retryable answer (the drain deadline passed). */
  handBackAll(): void;
}

const UNIT: Readonly<Record<Signal, string>> = { logs: 'log records', traces: 'span events' };

/**
 * While Gravity is unreachable, one request at a time (at most one per this interval) goes through as a probe;
 * the others are answered at once with a retryable answer instead of each waiting out the export deadline.
 */
const OUTAGE_PROBE_INTERVAL_MILLIS = 1_000;

/** Gravity could not be reached for a whole request since `sinceMillis`; cleared by any delivery. */
interface Outage {
  readonly sinceMillis: number;
  lastProbeMillis: number;
  probing: boolean;
  lastCause: string;
}

function decode(signal: Signal, encoding: Encoding, body: Uint8Array, allowList: readonly string[]): DecodedRequest {
  if (signal === 'logs') return encoding === 'protobuf' ? decodeLogsProtobuf(body, allowList) : decodeLogsJson(body, allowList);
  return encoding === 'protobuf' ? decodeTracesProtobuf(body, allowList) : decodeTracesJson(body, allowList);
}

/**
 * The mapping context of a resource with allow-listed attributes: they become properties of its track records,
 * below the configured super properties (and so below the records' own properties).
 */
function contextFor(resource: GatewayResource, ctx: MappingContext): MappingContext {
  if (resource.properties === undefined) return ctx;
  resource.ctx ??= { ...ctx, superProperties: ctx.superProperties === undefined ? resource.properties : { ...resource.properties, ...ctx.superProperties } };
  return resource.ctx;
}

export function createExportHandler(options: ExportHandlerOptions): ExportHandler {
  const { pipeline, counters, maxInFlightRecords, resourceAttributes } = options;
  const now = options.now ?? Date.now;
  const mapSpan = createSpanEventMapper(options.spanOptions);
  const memory = new RequestMemory<Answer>();
  let inFlight = 0;
  let draining = false;
  const running = new Set<Promise<Answer>>();
  let outage: Outage | undefined;
  let handBack: (answer: Answer) => void = () => undefined;
  const handedBack = new Promise<Answer>((resolve) => (handBack = resolve));

  /**
   * The mapper of a signal: reads each record of the request (decoding it) just before mapping it with the
   * exporters' mapping; records of `skip`'s clients (delivered by an earlier try) are left out. A record that
   * does not decode throws, and the pipeline rejects it alone (its neighbours still go out).
   */
  function mapperFor(signal: Signal, skip: ReadonlySet<string> | undefined): RecordMapper<WireEntry> {
    const keep = (result: MapResult | undefined): MapResult | undefined => {
      if (skip === undefined || result === undefined || !result.ok || !skip.has(result.value.clientId)) return result;
      counters.duplicateRecords++;
      return undefined;
    };
    if (signal === 'logs') {
      return (entry, ctx) => {
        counters.received.logs++;
        const record = readLogRecord(entry, now);
        if (record === undefined) {
          counters.ignored.logs++;
          return undefined;
        }
        return keep(mapLogRecord(record, contextFor(record.resource, ctx)));
      };
    }
    return (entry, ctx) => {
      const { span, events, analytics } = readSpan(entry, now);
      counters.received.traces += events;
      counters.ignored.traces += events - analytics;
      if (span === undefined) return undefined;
      const results = mapSpan(span, contextFor(span.resource, ctx));
      return skip === undefined ? results : results.map(keep);
    };
  }

  /** Updates the outage state from what became of one request's records. */
  function noteOutcome(delivered: boolean, unreachable: boolean, cause: string, probe: boolean): void {
    if (delivered) {
      outage = undefined;
      return;
    }
    if (probe && outage !== undefined) outage.probing = false;
    if (!unreachable) return;
    if (outage === undefined) outage = { sinceMillis: now(), lastProbeMillis: now(), probing: false, lastCause: cause };
    else outage.lastCause = cause;
  }

  function deliver(
    signal: Signal,
    key: string,
    decoded: DecodedRequest,
    earlier: RememberedRequest<Answer> | undefined,
    probe: boolean,
  ): Promise<Answer> {
    return new Promise<Answer>((resolve) => {
      let rejections: readonly Rejection[] = [];
      let settled: readonly Settled[] | undefined;
      const done = (result: ExportResult): void => {
        if (settled === undefined) {
          // The export failed before delivery settled anything (a bug or a shutdown): the sender retries.
          noteOutcome(false, false, '', probe);
          resolve({ kind: 'retry', reason: 'unavailable', retryAfterMillis: UNAVAILABLE_RETRY_AFTER_MILLIS, message: result.error?.message ?? 'export failed' });
          return;
        }
        const outcome = summariseSettled(settled);
        const refused = {
          records: (earlier?.refused?.records ?? 0) + outcome.refused.records,
          reasons: [...(earlier?.refused?.reasons ?? []), ...outcome.refused.reasons],
        };
        noteOutcome(outcome.settledClients.size > 0 || !outcome.retry, outcome.unreachable, outcome.firstRetryCause ?? '', probe);
        if (outcome.retry) {
          const settledClients = new Set([...(earlier?.settledClients ?? []), ...outcome.settledClients]);
          memory.set(key, { settledClients, refused });
          resolve({
            kind: 'retry',
            reason: 'unavailable',
            retryAfterMillis: retryAfterFor(outcome),
            message: `records could not be delivered to Gravity yet (${settledClients.size} clients were, and are not sent again); first: ${outcome.firstRetryCause}`,
          });
          return;
        }
        const answer: Answer = { kind: 'accepted', rejected: rejections.length + refused.records, message: describeRejected(UNIT[signal], rejections, refused) };
        memory.set(key, { answer });
        resolve(answer);
      };
      pipeline.export(decoded.entries, mapperFor(signal, earlier?.settledClients), done, {
        onRejections: (r) => (rejections = r),
        onSettled: (s) => (settled = s),
      });
    });
  }

  function track(work: Promise<Answer>): Promise<Answer> {
    running.add(work);
    void work.finally(() => running.delete(work));
    return Promise.race([work, handedBack]);
  }

  return {
    handle(signal, encoding, body) {
      if (draining) {
        return Promise.resolve({ kind: 'retry', reason: 'unavailable', retryAfterMillis: DRAINING_RETRY_AFTER_MILLIS, message: 'the gateway is shutting down' });
      }
      let decoded: DecodedRequest;
      try {
        decoded = decode(signal, encoding, body, resourceAttributes);
      } catch (error) {
        if (!(error instanceof OtlpDecodeError)) throw error;
        return Promise.resolve({ kind: 'refused', httpStatus: 400, grpcCode: GRPC_CODE.INVALID_ARGUMENT, message: `malformed OTLP ${signal} request: ${error.message}` });
      }
      if (decoded.entries.length === 0) return Promise.resolve({ kind: 'accepted', rejected: 0, message: '' });

      const key = RequestMemory.keyOf(signal, body);
      const earlier = memory.get(key);
      if (earlier?.answer !== undefined) {
        counters.duplicateRequests++;
        return Promise.resolve(earlier.answer);
      }
      const inProgress = memory.running(key);
      if (inProgress !== undefined) {
        counters.duplicateRequests++;
        return track(inProgress);
      }
      let probe = false;
      if (outage !== undefined) {
        if (outage.probing || now() - outage.lastProbeMillis < OUTAGE_PROBE_INTERVAL_MILLIS) {
          return Promise.resolve({
            kind: 'retry',
            reason: 'unavailable',
            retryAfterMillis: UNAVAILABLE_RETRY_AFTER_MILLIS,
            message: `Gravity has been unreachable for ${Math.round((now() - outage.sinceMillis) / 1000)} s (${outage.lastCause}); retry later`,
          });
        }
        outage.probing = true;
        outage.lastProbeMillis = now();
        probe = true;
      }
      // Admission: a request that would pass the cap waits outside (the sender retries); one alone always goes.
      // Counted before the records are read: log records, or spans (whose events are not known yet).
      const records = decoded.entries.length;
      if (inFlight > 0 && inFlight + records > maxInFlightRecords) {
        if (probe) outage!.probing = false;
        return Promise.resolve({
          kind: 'retry',
          reason: 'overloaded',
          retryAfterMillis: OVERLOADED_RETRY_AFTER_MILLIS,
          message: `the gateway holds ${inFlight} records in delivery (cap ${maxInFlightRecords}); retry later`,
        });
      }
      inFlight += records;
      const work = deliver(signal, key, decoded, earlier, probe).finally(() => {
        inFlight -= records;
      });
      memory.track(key, work);
      return track(work);
    },

    inFlightRecords: () => inFlight,

    startDraining() {
      draining = true;
    },

    async idle() {
      while (running.size > 0) await Promise.allSettled([...running]);
    },

    handBackAll() {
      handBack({ kind: 'retry', reason: 'unavailable', retryAfterMillis: DRAINING_RETRY_AFTER_MILLIS, message: 'the gateway shut down before these records were delivered; retry' });
    },
  };
}
