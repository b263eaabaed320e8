/**
 * `startGateway`: OTLP receivers (HTTP, gRPC) in front of the export pipeline the in-process exporters use,
 * with the ops endpoints, the gateway's counters and a draining `close()`.
 */
import { resolveConfig } from '../config/resolve-config.js';
import { createLogger } from '../common/diag.js';
import { asError, configurationError } from '../common/errors.js';
import { resolveSpanEventMappingOptions } from '../mapping/map-span-event.js';
import { createExportPipeline } from '../pipeline/export-pipeline.js';
import type { GravityExporterStats } from '../observability/stats.js';
import { createExportHandler } from './export-handler.js';
import { createGatewayCounters, registerGatewayMetrics, renderPrometheus } from './gateway-metrics.js';
import type { GatewaySnapshot } from './gateway-metrics.js';
import { startGrpcReceiver } from './grpc-receiver.js';
import type { GrpcReceiver } from './grpc-receiver.js';
import { startHttpReceiver } from './http-receiver.js';
import type { HttpReceiver } from './http-receiver.js';
import { resolveGatewayOptions } from './options.js';
import type { GatewayAck, GravityGatewayOptions } from './options.js';

/** A snapshot of the gateway's counters. */
export interface GravityGatewayStats {
  /** Log records / span events of the requests taken into delivery, per signal (a retry of a partly delivered request counts again; one answered from memory, refused or throttled does not). */
  readonly received: Readonly<Record<'logs' | 'traces', number>>;
  /** Of those, not analytics (no `ge.*`): never mapped nor sent. */
  readonly ignored: Readonly<Record<'logs' | 'traces', number>>;
  /** Requests answered, keyed `signal|protocol|outcome` (`logs|grpc|accepted`, `traces|http|throttled`...). */
  readonly requests: Readonly<Record<string, number>>;
  /** Retries of requests already answered successfully: answered again, nothing sent. */
  readonly duplicateRequests: number;
  /** Records of a retried request whose client an earlier try had delivered: not sent again. */
  readonly duplicateRecords: number;
  /** Records of requests admitted and not answered yet. */
  readonly queued: number;
  /** The delivery pipeline's counters (rejected by reason, sent, retried, failed, dropped, spooled...). */
  readonly delivery: GravityExporterStats;
}

export interface GravityGateway {
  /** `http://host:port` of the OTLP/HTTP receiver (and the ops endpoints), when it runs. */
  readonly httpUrl: string | undefined;
  /** `host:port` of the OTLP/gRPC receiver, when it runs. */
  readonly grpcAddress: string | undefined;
  readonly ack: GatewayAck;
  /** The collect URL records go to (without the token). */
  readonly targetUrl: string;
  /** What `/readyz` says: the spool is open (when there is one) and the gateway is not draining. */
  isReady(): boolean;
  getStats(): GravityGatewayStats;
  /** What `/metrics` serves (Prometheus text format). */
  metricsText(): string;
  /**
   * Drains and stops: new requests get a retryable answer, requests in progress finish (or, past
   * `drainTimeoutMillis`, are handed back with a retryable answer), then the receivers and the pipeline close.
   * Idempotent; never rejects.
   */
  close(): Promise<void>;
}

/** Resolves `true` when `promise` settles within `millis`; the timer never holds the process. */
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

/**
 * Starts an OTLP → Gravity gateway: OTLP/HTTP (`/v1/logs`, `/v1/traces`; protobuf or JSON; gzip) and OTLP/gRPC
 * receivers whose records are mapped by the exporters' own mapping (same `ge.*` contract, same payloads) and
 * delivered by the same pipeline. Resolves once both receivers listen.
 *
 * @throws {GravityConfigurationError} when no access token is configured, both receivers are off, or `ack:
 * 'spooled'` has no `spoolDir` (and `spoolDir` is given with `ack: 'delivered'`).
 * @throws {TypeError | RangeError} for an invalid option value; the listen error when a port is taken.
 * @param env Where the `GE_*` variables are read. @default process.env
 *
 * @example
 * ```ts
 * import { startGateway } from 'gravity-otel-exporter/gateway';
 *
 * const gateway = await startGateway({ httpEndpoint: '0.0.0.0:4318', grpcEndpoint: '0.0.0.0:4317' }); // GE_ACCESS_TOKEN from env
 * process.once('SIGTERM', () => void gateway.close());
 * ```
 */
export async function startGateway(options: GravityGatewayOptions = {}, env: Readonly<Record<string, string | undefined>> = process.env): Promise<GravityGateway> {
  const log = createLogger('gateway');
  const resolved = resolveGatewayOptions(options, env);
  const spanOptions = resolveSpanEventMappingOptions(options);
  const config = resolveConfig(resolved.exporter, env);
  if (resolved.ack === 'delivered' && config.spoolDir !== undefined) {
    throw configurationError(
      'value',
      'spoolDir',
      'unset with ack "delivered" (records are acknowledged once delivered; the sender keeps the rest); set ack "spooled" (GE_GATEWAY_ACK=spooled) to use a spool',
      config.spoolDir,
    );
  }
  const { meterProvider } = options;
  if (meterProvider !== undefined && typeof (meterProvider as { getMeter?: unknown } | null)?.getMeter !== 'function') {
    throw configurationError('type', 'meterProvider', 'an OTel MeterProvider (with getMeter)', typeof meterProvider);
  }
  const pipeline = createExportPipeline(config, { spoolFirst: resolved.ack === 'spooled' });
  const counters = createGatewayCounters();
  const handler = createExportHandler({
    pipeline,
    spanOptions,
    resourceAttributes: resolved.resourceAttributes,
    maxInFlightRecords: config.maxBufferedRecords,
    counters,
  });
  let spoolOpen = config.spoolDir === undefined;
  if (!spoolOpen) {
    void pipeline.spoolReady().then((open) => {
      spoolOpen = open;
      if (!open) log.warn(`the spool ${config.spoolDir} could not be opened: the gateway stays not ready and answers requests with a retryable answer`);
    });
  }
  let draining = false;
  const isReady = (): boolean => spoolOpen && !draining;
  const snapshot = (): GatewaySnapshot => ({ counters, pipeline: pipeline.getStats(), queued: handler.inFlightRecords(), ready: isReady() });
  const metricsText = (): string => renderPrometheus(snapshot());

  let http: HttpReceiver | undefined;
  let grpc: GrpcReceiver | undefined;
  try {
    if (resolved.http !== undefined) {
      http = await startHttpReceiver({
        address: resolved.http,
        handler,
        counters,
        authToken: resolved.authToken,
        maxRequestBytes: resolved.maxRequestBytes,
        isReady,
        metricsText,
      });
    }
    if (resolved.grpc !== undefined) {
      grpc = await startGrpcReceiver({ address: resolved.grpc, handler, counters, authToken: resolved.authToken, maxRequestBytes: resolved.maxRequestBytes });
    }
  } catch (error) {
    await http?.closeAll();
    await pipeline.shutdown();
    throw error;
  }
  const unregisterMetrics = registerGatewayMetrics(meterProvider, snapshot);
  log.info(
    `listening: ${[http && `OTLP/HTTP ${http.url}`, grpc && `OTLP/gRPC ${grpc.address}`].filter(Boolean).join(', ')}; ` +
      `delivering to ${config.endpoint.displayUrl} (ack: ${resolved.ack})`,
  );

  const drainTimeoutMillis = resolved.drainTimeoutMillis ?? config.exportDeadlineMillis + 2_000;
  let closing: Promise<void> | undefined;

  async function drain(): Promise<void> {
    const startedAt = Date.now();
    draining = true;
    handler.startDraining();
    http?.stopAccepting();
    const grpcStopped = grpc?.shutdown();
    if (!(await within(handler.idle(), drainTimeoutMillis))) {
      const left = handler.inFlightRecords();
      handler.handBackAll();
      log.warn(`close: ${left} records of requests in progress were not delivered within ${drainTimeoutMillis} ms; they were handed back to their senders (retryable answer)`);
    }
    const left = (): number => Math.max(1_000, drainTimeoutMillis - (Date.now() - startedAt));
    if (grpcStopped !== undefined && !(await within(grpcStopped, Math.min(left(), 1_000)))) grpc?.forceShutdown();
    await http?.closeAll();
    if (!(await within(pipeline.shutdown(), left()))) log.warn('close: the delivery pipeline did not shut down within the drain deadline');
    unregisterMetrics();
  }

  return {
    httpUrl: http?.url,
    grpcAddress: grpc?.address,
    ack: resolved.ack,
    targetUrl: config.endpoint.displayUrl,
    isReady,
    getStats(): GravityGatewayStats {
      return Object.freeze({
        received: Object.freeze({ ...counters.received }),
        ignored: Object.freeze({ ...counters.ignored }),
        requests: Object.freeze(Object.fromEntries(counters.requests)),
        duplicateRequests: counters.duplicateRequests,
        duplicateRecords: counters.duplicateRecords,
        queued: handler.inFlightRecords(),
        delivery: pipeline.getStats(),
      });
    },
    metricsText,
    close() {
      closing ??= drain().catch((error: unknown) => log.error(`close failed: ${asError(error).message}`));
      return closing;
    },
  };
}
