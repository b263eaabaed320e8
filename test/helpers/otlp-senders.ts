/**
 * Clients no one here wrote: the OpenTelemetry JS OTLP exporters (http/json, http/protobuf, gRPC) behind the
 * real SDK providers and batch processors, pointed at a gateway; and one scenario of analytics records, emitted
 * the same way through them and through the in-process exporters, so their Gravity payloads can be compared.
 */
import { createRequire } from 'node:module';
import type { Tracer } from '@opentelemetry/api';
import { OTLPLogExporter as HttpJsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as HttpProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPLogExporter as GrpcLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPTraceExporter as HttpJsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as HttpProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as GrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import type { LogRecordExporter } from '@opentelemetry/sdk-logs';
import type { IdGenerator, SpanExporter } from '@opentelemetry/sdk-trace';
import { createBatchSpanProcessor, TracerProvider } from './otel-line.js';
import type { Logger } from './otel-line.js';
import type { AcceptedEvent } from '../../src/emulator/index.js';

export type OtlpProtocol = 'http/json' | 'http/protobuf' | 'grpc';
export const OTLP_PROTOCOLS: readonly OtlpProtocol[] = ['http/json', 'http/protobuf', 'grpc'];

export interface GatewayAddresses {
  readonly httpUrl?: string;
  readonly grpcAddress?: string;
}

export interface SenderOptions {
  /** Sent as `Authorization` (HTTP header / gRPC metadata). */
  readonly authorization?: string;
  /** The exporter's overall timeout, retries included. @default 10000 (OTel's) */
  readonly timeoutMillis?: number;
  readonly compression?: 'gzip' | 'none';
}

export function otlpLogExporter(protocol: OtlpProtocol, gateway: GatewayAddresses, options: SenderOptions = {}): LogRecordExporter {
  const headers = options.authorization !== undefined ? { Authorization: options.authorization } : undefined;
  const common = { timeoutMillis: options.timeoutMillis, compression: (options.compression ?? 'gzip') as never };
  switch (protocol) {
    case 'http/json':
      return new HttpJsonLogExporter({ ...common, url: `${gateway.httpUrl}/v1/logs`, headers });
    case 'http/protobuf':
      return new HttpProtoLogExporter({ ...common, url: `${gateway.httpUrl}/v1/logs`, headers });
    case 'grpc':
      return new GrpcLogExporter({ ...common, url: `http://${gateway.grpcAddress}`, metadata: grpcMetadata(options.authorization) });
  }
}

export function otlpTraceExporter(protocol: OtlpProtocol, gateway: GatewayAddresses, options: SenderOptions = {}): SpanExporter {
  const headers = options.authorization !== undefined ? { Authorization: options.authorization } : undefined;
  const common = { timeoutMillis: options.timeoutMillis, compression: (options.compression ?? 'gzip') as never };
  switch (protocol) {
    case 'http/json':
      return new HttpJsonTraceExporter({ ...common, url: `${gateway.httpUrl}/v1/traces`, headers });
    case 'http/protobuf':
      return new HttpProtoTraceExporter({ ...common, url: `${gateway.httpUrl}/v1/traces`, headers });
    case 'grpc':
      return new GrpcTraceExporter({ ...common, url: `http://${gateway.grpcAddress}`, metadata: grpcMetadata(options.authorization) });
  }
}

// The gRPC exporters take grpc-js Metadata; loaded only when one is made.
function grpcMetadata(authorization: string | undefined): never {
  if (authorization === undefined) return undefined as never;
  const { Metadata } = createRequire(import.meta.url)('@grpc/grpc-js') as typeof import('@grpc/grpc-js');
  const metadata = new Metadata();
  metadata.set('authorization', authorization);
  return metadata as never;
}

/** The resource every sender in the scenario reports (`service.name` is what `resourceAttributes` picks). */
export const SCENARIO_RESOURCE = resourceFromAttributes({ 'service.name': 'shop', 'deployment.environment': 'test' });

/**
 * A logger provider with one batch processor around `exporter`. By default it exports only on flush; with a
 * short `scheduledDelayMillis` it exports continuously (concurrent `forceFlush` calls return early in the SDK,
 * so a test under load flushes once, at the end).
 */
export function logProvider(exporter: LogRecordExporter, processor: { scheduledDelayMillis?: number; maxExportBatchSize?: number } = {}): LoggerProvider {
  return new LoggerProvider({
    resource: SCENARIO_RESOURCE,
    processors: [new BatchLogRecordProcessor({ exporter, scheduledDelayMillis: 60_000, maxExportBatchSize: 512, maxQueueSize: 4096, ...processor })],
  });
}

/** Trace and span ids from a counter: two providers running the scenario make the same ids. */
export class CountingIdGenerator implements IdGenerator {
  private _next = 1;
  generateTraceId(): string {
    return (this._next++).toString(16).padStart(32, 'a');
  }
  generateSpanId(): string {
    return (this._next++).toString(16).padStart(16, 'b');
  }
}

export function traceProvider(exporter: SpanExporter): TracerProvider {
  return new TracerProvider({
    resource: SCENARIO_RESOURCE,
    idGenerator: new CountingIdGenerator(),
    spanProcessors: [createBatchSpanProcessor(exporter, { scheduledDelayMillis: 60_000, maxExportBatchSize: 512, maxQueueSize: 4096 })],
  });
}

/**
 * A base time for one run of a scenario, inside the service's window. Runs differ by their times: the same
 * records sent twice make the same request, which the gateway recognises as a retry.
 */
export function scenarioTime(run: number): number {
  return Date.now() - 60_000 + run * 1_000;
}

/**
 * Log records covering the contract: track events from body maps and attributes (dotted keys, nested maps and
 * lists, every scalar kind, zero values, Unicode), event names from `eventName` and `ge.event_name`, client ip / ua,
 * `time_free`, every user operation, a record that is not analytics, and records the mapping rejects (a bad
 * key, an unknown operation, a non-number for increment, bytes, NaN, an int beyond double precision... not all
 * of them: 2^60 is exact and goes through).
 */
export function emitLogScenario(logger: Logger, baseTime: number): { analytics: number; rejected: number } {
  const at = (offset: number): number => baseTime + offset;
  logger.emit({
    eventName: 'purchase',
    timestamp: at(1),
    attributes: { 'ge.client_id': 'user-1', amount: 30, 'item.sku': 'sword-01', price: 9.99, vip: true, tags: ['a', 'b'], nothing: null, zero: 0, off: false, empty: '' },
    body: { cart: { items: 2, coupon: 'SPRING', lines: [{ sku: 'x', qty: 0 }] }, note: '中文 ✓', big: 2 ** 60, neg: -7, ratio: 0.25, flags: [false, 0, ''] },
  });
  logger.emit({
    timestamp: at(2),
    attributes: { 'ge.client_id': 'user-1', 'ge.event_name': 'page.view', 'ge.client_ip': '10.0.0.1', 'ge.client_ua': 'agent/1', page: '/home' },
  });
  logger.emit({ timestamp: at(3) - 30 * 86_400_000, eventName: 'old_order', attributes: { 'ge.client_id': 'user-2', 'ge.time_free': true, n: 1 } });
  logger.emit({ timestamp: at(4), attributes: { 'ge.client_id': 'user-2', 'ge.user_op': 'set', plan: 'pro', profile: { age: 30 } } });
  logger.emit({ timestamp: at(5), attributes: { 'ge.client_id': 'user-2', 'ge.user_op': 'set_once', first_channel: 'ads' } });
  logger.emit({ timestamp: at(6), attributes: { 'ge.client_id': 'user-2', 'ge.user_op': 'increment', coins: 5 } });
  logger.emit({ timestamp: at(7), attributes: { 'ge.client_id': 'user-2', 'ge.user_op': 'max', level: 10 } });
  logger.emit({ timestamp: at(8), attributes: { 'ge.client_id': 'user-2', 'ge.user_op': 'min', best: 1.5 } });
  logger.emit({ timestamp: at(9), attributes: { 'ge.client_id': 'user-2', 'ge.user_op': 'append', badges: ['gold'] } });
  logger.emit({ timestamp: at(10), attributes: { 'ge.client_id': 'user-2', 'ge.user_op': 'uniq_append' }, body: { badges: ['gold', 'silver'] } });
  logger.emit({ timestamp: at(11), attributes: { 'ge.client_id': 'user-2', 'ge.user_op': 'unset' }, body: ['plan', 'first.channel'] });
  logger.emit({ timestamp: at(12), attributes: { 'ge.client_id': 'user-3', 'ge.user_op': 'delete' } });
  logger.emit({ timestamp: at(13), eventName: 'ignored', attributes: { plain: 'log line' }, body: 'not analytics' });
  // Rejected, each alone (its neighbours still go out):
  logger.emit({ timestamp: at(14), eventName: 'bad', attributes: { 'ge.client_id': 'user-1', 'bad-key': 1 } });
  logger.emit({ timestamp: at(15), attributes: { 'ge.client_id': 'user-1', 'ge.user_op': 'inc', coins: 1 } });
  logger.emit({ timestamp: at(16), attributes: { 'ge.client_id': 'user-1', 'ge.user_op': 'increment', coins: 'five' } });
  logger.emit({ timestamp: at(17), eventName: 'blob', attributes: { 'ge.client_id': 'user-1', data: new Uint8Array([1, 2, 3]) } });
  logger.emit({ timestamp: at(18), eventName: 'nan', attributes: { 'ge.client_id': 'user-1', ratio: Number.NaN } });
  logger.emit({ timestamp: at(19), attributes: { 'ge.user_op': 'set', plan: 'x' } });
  return { analytics: 18, rejected: 6 };
}

/**
 * Spans covering span events: `ge.*` inherited from the span (client id, ip), an event's own client id winning,
 * `ge.user_op` only on the event, a span without `ge.*` whose event carries them, a span with nothing, and a
 * rejected event.
 */
export function emitSpanScenario(tracer: Tracer, baseTime: number): { analytics: number; rejected: number } {
  const at = (offset: number): number => baseTime + 100 + offset;
  const checkout = tracer.startSpan('POST /checkout', {
    startTime: at(0),
    attributes: { 'ge.client_id': 'user-5', 'ge.client_ip': '10.0.0.5', 'http.route': '/checkout' },
  });
  checkout.addEvent('purchase', { amount: 30, 'item.sku': 'sword-01' }, at(1));
  checkout.addEvent('upgrade', { 'ge.user_op': 'set', plan: 'pro' }, at(2));
  checkout.addEvent('gift', { 'ge.client_id': 'user-6', to: 'user-5' }, at(3));
  checkout.addEvent('oops', { 'bad key': true }, at(4));
  checkout.end(at(5));
  const plain = tracer.startSpan('GET /items', { startTime: at(6) });
  plain.addEvent('search', { 'ge.client_id': 'user-7', 'ge.event_name': 'item_search', q: 'sword' }, at(7));
  plain.addEvent('cache.miss', { key: 'items' }, at(8));
  plain.end(at(9));
  const nothing = tracer.startSpan('GET /health', { startTime: at(10) });
  nothing.addEvent('probe', {}, at(11));
  nothing.end(at(12));
  return { analytics: 5, rejected: 1 };
}

/** Accepted records per client in arrival order (requests of different clients may arrive in any order). */
export function eventsByClient(events: readonly AcceptedEvent[]): Record<string, Array<Omit<AcceptedEvent, 'requestSeq'>>> {
  const result: Record<string, Array<Omit<AcceptedEvent, 'requestSeq'>>> = {};
  for (const { requestSeq: _seq, ...event } of events) (result[event.client_id] ??= []).push(event);
  return Object.fromEntries(Object.entries(result).sort(([a], [b]) => a.localeCompare(b)));
}
