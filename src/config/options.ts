/** Options of `GravityLogRecordExporter` and `GravitySpanExporter`. Code beats env beats default. */
import type { MeterProvider } from '@opentelemetry/api';
import type { GravityDiagnostics } from '../common/diag.js';

/** Body compression of batch requests. */
export type GravityCompression = 'gzip' | 'none' | 'auto';

export interface GravityExporterOptions {
  /**
   * Collect endpoint. An origin (`https://host`) gets `/event_center/api/v1/event/collect/` appended;
   * a URL with a path is used as given. An `access_token` query parameter in it is used as the token.
   * Env: `GE_SERVER_URL`.
   * @default 'https://backend.gravity-engine.com/event_center/api/v1/event/collect/'
   */
  url?: string;
  /**
   * Gravity app access token (sent as the `access_token` query parameter; never logged).
   * Env: `GE_ACCESS_TOKEN`. Required: the constructor throws when no token is found anywhere.
   */
  accessToken?: string;
  /**
   * `gzip` compresses request bodies (signalled with `Gravity-Content-Compress: gzip`); `none` sends plain JSON;
   * `auto` gzips bodies of 1,200 bytes or more and sends smaller ones (one or two records) plain, saving ~20 µs
   * of CPU per small request where gzip saves no network packet. Debug mode always sends plain JSON.
   * Env: `GE_COMPRESSION` (`gzip`, `none` or `auto`).
   * @default 'gzip'
   */
  compression?: GravityCompression;
  /**
   * Debug mode: `Turbo-Debug-Mode: 1`, one record per request, uncompressed, strict validation
   * (string ≤ 2048 bytes, lists ≤ 500, the service's time window). Not for production.
   * Env: `GE_DEBUG` (`true`/`false`).
   * @default false
   */
  debug?: boolean;
  /**
   * How long one HTTP request may take, in milliseconds. Env: `GE_TIMEOUT_MILLIS`.
   * @default 10000
   */
  timeoutMillis?: number;
  /**
   * Requests in flight at once across all clients (also the connection count of the keep-alive pool).
   * Env: `GE_MAX_CONCURRENT_REQUESTS`.
   * @default 128
   */
  maxConcurrentRequests?: number;
  /**
   * Most records in one request (1–200; the official SDKs never send more than 200).
   * @default 200
   */
  maxBatchSize?: number;
  /**
   * Most uncompressed JSON bytes in one request; larger groups are split. A single record larger than this
   * is rejected. @default 1000000
   */
  maxBatchBytes?: number;
  /**
   * How long one export may take, in milliseconds, all retries included: every attempt of every request of
   * one `export()` call shares this deadline. Keep it below the batch processor's `exportTimeoutMillis`
   * (30000 by default), so the exporter reports before the processor gives up on it. `forceFlush()` waits at
   * most this long too. Env: `GE_EXPORT_DEADLINE_MILLIS`.
   * @default 25000
   */
  exportDeadlineMillis?: number;
  /**
   * The whole of shutdown, in milliseconds: `shutdown()` of the exporter, and of a provider whose processor
   * `createGravityLogRecordProcessor` / `createGravitySpanProcessor` made (from the moment the processor's
   * shutdown begins), resolves within it whatever the endpoint does. Deliveries go on until a few seconds before
   * its end (a quarter of it, at most 3 s); then what is left is written to the spool (`spoolDir`) or counted as
   * dropped, and connections and spool are closed. Keep it below the platform's grace period (Kubernetes: 30 s
   * by default) minus what the rest of the process's shutdown takes. Env: `GE_SHUTDOWN_TIMEOUT_MILLIS`.
   * @default 20000
   */
  shutdownTimeoutMillis?: number;
  /** Retry schedule of failed requests (network errors, 408, 429, 5xx). No env vars. */
  retry?: GravityRetryOptions;
  /**
   * How long records the service answered with `code` 2000 (client id not initialised by a Gravity client
   * SDK yet) keep being retried in the background, in milliseconds, every few seconds; then they are reported
   * as failed. `0` reports them at once. The export that carried them does not wait for this. They count
   * towards `maxBufferedRecords`. Env: `GE_CLIENT_INIT_WAIT_MILLIS`.
   * @default 60000
   */
  clientInitWaitMillis?: number;
  /**
   * Most records held in memory (requests in flight, waiting for a retry, or for client initialisation).
   * Beyond it the oldest waiting records of earlier exports are dropped (or written to the spool when
   * `spoolDir` is set), counted in `getStats().dropped` and reported through `diag.warn`; an export larger
   * than the cap waits for its own earlier requests instead of dropping its own records. Each held record
   * costs at most ~2.3 kB (one record per client and request), so the default bounds that state to about 50 MB.
   * Env: `GE_MAX_BUFFERED_RECORDS`.
   * @default 20000
   */
  maxBufferedRecords?: number;
  /**
   * Directory of a durable spool: records that cannot be delivered now (the endpoint fails or is down) are
   * appended there at once and replayed in the background, oldest first, when the endpoint recovers and
   * when any process using the same directory starts. One process owns a directory at a time.
   * Env: `GE_SPOOL_DIR`.
   * @default undefined (no spool: undeliverable records are reported as failed)
   */
  spoolDir?: string;
  /**
   * Properties added to every track record this exporter sends (not to user operations). The record's own
   * properties win. Keys follow the Gravity key rule; values may nest; `Date` values are formatted.
   * A bad key or value throws at construction. No env var.
   * @default undefined
   */
  superProperties?: Record<string, unknown>;
  /**
   * Called once per track record, when the exporter maps it (at export time, not emit time); what it returns
   * wins over `superProperties`, the record's own properties win over both. If it throws or returns a
   * non-object, that record is rejected (counted and reported through `diag`). No env var.
   * @default undefined
   */
  dynamicSuperProperties?: () => Record<string, unknown>;
  /**
   * Records the exporter's counters (`getStats()`) as OTel observable counters through this provider:
   * `gravity_exporter.records.received`, `.ignored`, `.rejected` (attribute `reason`), `.sent`, `.retried`,
   * `.failed`, `.spooled`, `.dropped`, and `gravity_exporter.requests`, each with attribute `exporter`
   * (`logs` or `spans`). No env var.
   * @default undefined (no metrics)
   */
  meterProvider?: MeterProvider;
  /**
   * Where the exporter's warnings go while no OTel diag logger is registered (with one registered, they go
   * to `diag` only): delivery failures with their cause, rejected, dropped and spooled records, bad env
   * values. One line each, at most one per cause a minute (then the count of those held back), never the
   * token. `'stderr'`, `'stdout'`, `'off'`, or a function called with each line.
   * Env: `GE_DIAGNOSTICS` (`stderr`, `stdout` or `off`).
   * @default 'stderr'
   */
  diagnostics?: GravityDiagnostics;
}

/** Options of `GravitySpanExporter`: every `GravityExporterOptions` field, plus how span context reaches events. */
export interface GravitySpanExporterOptions extends GravityExporterOptions {
  /**
   * Adds the span's trace id and span id to each track event made from its span events, as the properties
   * `trace_id` (32 hex characters) and `span_id` (16 hex characters), so an analytics event can be looked
   * up in the tracing backend. An event attribute or copied span attribute of the same name wins. User
   * operations never get them. No env var.
   * @default false
   */
  traceCorrelation?: boolean;
  /**
   * Keys of span attributes copied onto each track event made from the span's events, as properties
   * (`http.route` becomes `http_route`, like any dotted key). The event's own attributes win over them;
   * keys absent on a span are skipped, `ge.*` keys are never copied. User operations never get them.
   * No env var.
   * @default []
   */
  copySpanAttributes?: string[];
}

/** Retry schedule: capped exponential backoff with full jitter; a `Retry-After` answer overrides it. */
export interface GravityRetryOptions {
  /** Most attempts per request, the first included (the export deadline normally ends retries first). @default 50 */
  maxAttempts?: number;
  /** Upper bound of the first backoff, in milliseconds. @default 500 */
  initialBackoffMillis?: number;
  /** Cap of any backoff, in milliseconds. @default 5000 */
  maxBackoffMillis?: number;
}
