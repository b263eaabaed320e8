/**
 * Options of `startGateway`: every exporter option (the gateway delivers through the same pipeline), plus the
 * receivers' addresses, the acknowledgement mode, authentication and limits. Code beats env beats default.
 */
import { createLogger, registerSecret } from '../common/diag.js';
import { configurationError, invalidConfiguration, missingConfiguration } from '../common/errors.js';
import type { GravitySpanExporterOptions } from '../config/options.js';

/** When an OTLP request is answered. */
export type GatewayAck = 'delivered' | 'spooled';

export interface GravityGatewayOptions extends GravitySpanExporterOptions {
  /**
   * Address of the OTLP/HTTP receiver, `host:port` (port 0: any free port); `false` turns it off.
   * Env: `GE_GATEWAY_HTTP_ENDPOINT` (`none` turns it off). Listen on `0.0.0.0:4318` to be reachable from
   * other hosts (containers). The receiver also serves `/healthz`, `/readyz` and `/metrics`.
   * @default '127.0.0.1:4318'
   */
  httpEndpoint?: string | false;
  /**
   * Address of the OTLP/gRPC receiver, `host:port`; `false` turns it off. Needs the optional dependency
   * `@grpc/grpc-js` (installed by default). Env: `GE_GATEWAY_GRPC_ENDPOINT` (`none` turns it off).
   * @default '127.0.0.1:4317'
   */
  grpcEndpoint?: string | false;
  /**
   * `delivered`: an OTLP request is answered once each of its records was delivered to Gravity or rejected
   * by validation, so the sender (an SDK, or a Collector's sending queue) keeps everything else and retries:
   * the gateway holds nothing of its own. `spooled`: answered once the records are written to the gateway's
   * spool (`spoolDir`, required), which delivers them in the background (a standalone gateway).
   * Env: `GE_GATEWAY_ACK`.
   * @default 'delivered'
   */
  ack?: GatewayAck;
  /**
   * A bearer token both receivers require (`Authorization: Bearer <token>`; HTTP 401 / gRPC `UNAUTHENTICATED`
   * otherwise). The ops endpoints (`/healthz`, `/readyz`, `/metrics`) stay open. Never logged.
   * Env: `GE_GATEWAY_AUTH_TOKEN`.
   * @default undefined (no authentication)
   */
  authToken?: string;
  /**
   * Largest request accepted, in bytes, after decompression (HTTP 413 / gRPC `RESOURCE_EXHAUSTED` beyond it).
   * Env: `GE_GATEWAY_MAX_REQUEST_BYTES`.
   * @default 20971520 (20 MiB, the Collector's OTLP/HTTP receiver default)
   */
  maxRequestBytes?: number;
  /**
   * Resource attribute keys copied onto the track records of that resource as properties (`service.name` →
   * `service_name`), below every other property. Nothing of the resource is sent otherwise.
   * Env: `GE_GATEWAY_RESOURCE_ATTRIBUTES` (comma-separated).
   * @default []
   */
  resourceAttributes?: string[];
  /**
   * How long `close()` (SIGTERM for the CLI) may take: new requests are refused with a retryable answer,
   * requests in progress finish or are handed back (HTTP 503 / gRPC `UNAVAILABLE`) at this deadline.
   * Env: `GE_GATEWAY_DRAIN_MILLIS`.
   * @default exportDeadlineMillis + 2000
   */
  drainTimeoutMillis?: number;
}

/**
 * The export deadline when none is configured: an OTLP sender waits for the answer (OTel SDKs for 10 s by
 * default), so the gateway answers well before, with a retryable answer if Gravity could not be reached.
 */
export const GATEWAY_DEFAULT_EXPORT_DEADLINE_MILLIS = 8_000;
export const GATEWAY_DEFAULT_MAX_REQUEST_BYTES = 20 * 1024 * 1024;
export const GATEWAY_DEFAULT_HTTP_ENDPOINT = '127.0.0.1:4318';
export const GATEWAY_DEFAULT_GRPC_ENDPOINT = '127.0.0.1:4317';

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export interface ResolvedGatewayOptions {
  readonly http: ListenAddress | undefined;
  readonly grpc: ListenAddress | undefined;
  readonly ack: GatewayAck;
  readonly authToken: string | undefined;
  readonly maxRequestBytes: number;
  readonly resourceAttributes: readonly string[];
  readonly drainTimeoutMillis: number | undefined;
  /** The options handed to the export pipeline (gateway defaults filled in). */
  readonly exporter: GravitySpanExporterOptions;
}

type Env = Readonly<Record<string, string | undefined>>;

const log = createLogger('gateway');

function envValue(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** `host:port` → address; `[::1]:4317` for IPv6. */
export function parseListenAddress(value: string): ListenAddress | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:\s]*)):(\d{1,5})$/.exec(value.trim());
  if (match === null) return undefined;
  const port = Number(match[3]);
  if (port > 65_535) return undefined;
  const host = match[1] ?? match[2] ?? '';
  return { host: host === '' ? '0.0.0.0' : host, port };
}

function endpoint(name: string, envName: string, fromCode: string | false | undefined, env: Env, fallback: string): ListenAddress | undefined {
  const rule = 'host:port, or false to turn the receiver off';
  if (fromCode === false) return undefined;
  if (fromCode !== undefined) {
    const parsed = typeof fromCode === 'string' ? parseListenAddress(fromCode) : undefined;
    if (parsed === undefined) throw configurationError('type', name, rule, fromCode);
    return parsed;
  }
  const raw = envValue(env, envName);
  if (raw?.toLowerCase() === 'none') return undefined;
  if (raw !== undefined) {
    const parsed = parseListenAddress(raw);
    if (parsed !== undefined) return parsed;
    log.warn(`${invalidConfiguration(envName, 'host:port or none', raw)}; using ${fallback}`);
  }
  return parseListenAddress(fallback);
}

function positiveInteger(name: string, envName: string, fromCode: number | undefined, env: Env, max: number): number | undefined {
  const rule = `an integer from 1 to ${max}`;
  const ok = (n: number): boolean => Number.isInteger(n) && n >= 1 && n <= max;
  if (fromCode !== undefined) {
    if (typeof fromCode !== 'number' || !ok(fromCode)) throw configurationError('range', name, rule, fromCode);
    return fromCode;
  }
  const raw = envValue(env, envName);
  if (raw === undefined) return undefined;
  if (/^\d+$/.test(raw) && ok(Number(raw))) return Number(raw);
  log.warn(`${invalidConfiguration(envName, rule, raw)}; using the default`);
  return undefined;
}

function ackMode(fromCode: GatewayAck | undefined, env: Env): GatewayAck {
  const rule = '"delivered" or "spooled"';
  const isAck = (value: unknown): value is GatewayAck => value === 'delivered' || value === 'spooled';
  if (fromCode !== undefined) {
    if (!isAck(fromCode)) throw configurationError('type', 'ack', rule, fromCode);
    return fromCode;
  }
  const raw = envValue(env, 'GE_GATEWAY_ACK')?.toLowerCase();
  if (isAck(raw)) return raw;
  if (raw !== undefined) log.warn(`${invalidConfiguration('GE_GATEWAY_ACK', rule, raw)}; using delivered`);
  return 'delivered';
}

function resourceAttributes(fromCode: string[] | undefined, env: Env): string[] {
  if (fromCode !== undefined) {
    if (!Array.isArray(fromCode) || fromCode.some((key) => typeof key !== 'string' || key.trim() === '')) {
      throw configurationError('type', 'resourceAttributes', 'an array of attribute keys', fromCode);
    }
    return [...new Set(fromCode)];
  }
  const raw = envValue(env, 'GE_GATEWAY_RESOURCE_ATTRIBUTES');
  if (raw === undefined) return [];
  return [...new Set(raw.split(',').map((key) => key.trim()).filter((key) => key !== ''))];
}

/** Resolves the gateway's own options; the exporter options are resolved by the pipeline (resolveConfig). */
export function resolveGatewayOptions(options: GravityGatewayOptions, env: Env = process.env): ResolvedGatewayOptions {
  const {
    httpEndpoint,
    grpcEndpoint,
    ack: ackOption,
    authToken: authTokenOption,
    maxRequestBytes: maxRequestBytesOption,
    resourceAttributes: resourceAttributesOption,
    drainTimeoutMillis: drainOption,
    ...exporterOptions
  } = options;
  const http = endpoint('httpEndpoint', 'GE_GATEWAY_HTTP_ENDPOINT', httpEndpoint, env, GATEWAY_DEFAULT_HTTP_ENDPOINT);
  const grpc = endpoint('grpcEndpoint', 'GE_GATEWAY_GRPC_ENDPOINT', grpcEndpoint, env, GATEWAY_DEFAULT_GRPC_ENDPOINT);
  if (http === undefined && grpc === undefined) {
    throw missingConfiguration('httpEndpoint', 'Configuration: both receivers are turned off; set httpEndpoint or grpcEndpoint', 'httpEndpoint or grpcEndpoint');
  }
  const ack = ackMode(ackOption, env);
  if (authTokenOption !== undefined && (typeof authTokenOption !== 'string' || authTokenOption.trim() === '')) {
    throw configurationError('type', 'authToken', 'a non-empty string', typeof authTokenOption);
  }
  const authToken = authTokenOption ?? envValue(env, 'GE_GATEWAY_AUTH_TOKEN');
  if (authToken !== undefined) registerSecret(authToken);
  const maxRequestBytes =
    positiveInteger('maxRequestBytes', 'GE_GATEWAY_MAX_REQUEST_BYTES', maxRequestBytesOption, env, 1024 * 1024 * 1024) ?? GATEWAY_DEFAULT_MAX_REQUEST_BYTES;
  const drainTimeoutMillis = positiveInteger('drainTimeoutMillis', 'GE_GATEWAY_DRAIN_MILLIS', drainOption, env, 3_600_000);

  const exporter: GravitySpanExporterOptions = { ...exporterOptions };
  // The sender waits for the answer: the gateway's deadline is shorter than an exporter's (unless configured).
  if (exporter.exportDeadlineMillis === undefined && envValue(env, 'GE_EXPORT_DEADLINE_MILLIS') === undefined) {
    exporter.exportDeadlineMillis = GATEWAY_DEFAULT_EXPORT_DEADLINE_MILLIS;
  }
  if (ack === 'delivered') {
    // Records the service answers with code 2000 go back to the sender (retryable), which holds them: waiting
    // for client initialisation in the gateway's memory would acknowledge records it has not delivered.
    exporter.clientInitWaitMillis = 0;
  } else if (exporter.spoolDir === undefined && envValue(env, 'GE_SPOOL_DIR') === undefined) {
    throw missingConfiguration('spoolDir', 'Configuration: ack "spooled" needs a spool; pass { spoolDir } or set GE_SPOOL_DIR', 'a spool directory');
  }
  return Object.freeze({
    http,
    grpc,
    ack,
    authToken,
    maxRequestBytes,
    resourceAttributes: Object.freeze(resourceAttributes(resourceAttributesOption, env)),
    drainTimeoutMillis,
    exporter,
  });
}
