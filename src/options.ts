/** Options of `GravityLogRecordExporter` and `GravitySpanExporter`. Code beats env beats default. */

/** Body compression of batch requests. */
export type GravityCompression = 'gzip' | 'none';

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
   * `gzip` compresses request bodies (signalled with `Gravity-Content-Compress: gzip`); `none` sends plain JSON.
   * Debug mode always sends plain JSON. Env: `GE_COMPRESSION`.
   * @default 'gzip'
   */
  compression?: GravityCompression;
  /**
   * Debug mode: `Turbo-Debug-Mode: 1`, one record per request, uncompressed, strict validation
   * (string ≤ 2048 bytes, lists ≤ 500, the service's time window, unknown `ge.*` keys). Not for production.
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
   * @default 32
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
}
