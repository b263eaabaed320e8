/** Resolves options, env and defaults into one frozen configuration: code beats env beats default. */
import { COLLECT_PATH, MAX_RECORDS_PER_REQUEST } from '../mapping/rules.js';
import { createLogger, DIAGNOSTICS_ENV_VALUES, isGravityDiagnostics, registerSecret } from '../common/diag.js';
import type { GravityDiagnostics } from '../common/diag.js';
import { configurationError, invalidConfiguration, missingConfiguration } from '../common/errors.js';
import { checkTrackProperties, isPropertyMap } from '../mapping/eager-check.js';
import { snapshotValue } from '../mapping/values.js';
import type { GravityCompression, GravityExporterOptions } from './options.js';

export const DEFAULT_URL = `https://backend.gravity-engine.com${COLLECT_PATH}`;

export const DEFAULTS = Object.freeze({
  url: DEFAULT_URL,
  compression: 'gzip' as GravityCompression,
  debug: false,
  timeoutMillis: 10_000,
  // Re-measured with `npm run bench` (gravity-tuned runner: createGravityLogRecordProcessor, sync
  // gzip level 1; 2-core box, 2 runs each). S2 (20,000 records of 10,000 clients, 20 ms answers): 64 → 9,755-
  // 10,544 records/s, 128 → 13,431-13,542, 256 → 14,122-14,531. S1 (50,000 records of 1,000 clients, loopback,
  // CPU-bound): 64 → 38,853-40,340, 128 → 42,171-44,160, 256 → 38,043-40,427, with peak RSS 207 / 255 / 271 MB.
  // 128 is within 7% of the best at WAN latency and the best on loopback, at half the sockets of 256 (the soak
  // run before the streaming pipeline peaked at 128 too: 5,706-5,756 records/s vs 3,798-3,900 at 64).
  maxConcurrentRequests: 128,
  maxBatchSize: MAX_RECORDS_PER_REQUEST,
  maxBatchBytes: 1_000_000,
  // Below the OTel batch processors' default exportTimeoutMillis (30000), so the exporter answers first.
  exportDeadlineMillis: 25_000,
  // Below Kubernetes' default grace period (30 s), with room for the rest of a process's shutdown.
  shutdownTimeoutMillis: 20_000,
  // High on purpose: the export deadline is what ends retries; this only guards against a misconfigured one.
  retryMaxAttempts: 50,
  retryInitialBackoffMillis: 500,
  retryMaxBackoffMillis: 5_000,
  clientInitWaitMillis: 60_000,
  // Measured (soak/stalled-run.ts, export() called without waiting, one record per client and request, the worst
  // case): ~1.7 kB of heap and ~2.3 kB of RSS per held record; 50,000 held grew RSS by 117 MB. 20,000 keeps that
  // case near 50 MB. Behind a batch processor far fewer are ever held (it waits for each export).
  maxBufferedRecords: 20_000,
  spoolDir: undefined as string | undefined,
});

export interface ResolvedEndpoint {
  /** `scheme://host[:port]`. */
  readonly origin: string;
  /** Path and query without the token, e.g. `/event_center/api/v1/event/collect/`. */
  readonly pathAndQuery: string;
  /** The URL with the token removed: safe to log. */
  readonly displayUrl: string;
}

export interface ResolvedConfig {
  readonly endpoint: ResolvedEndpoint;
  readonly accessToken: string;
  readonly compression: GravityCompression;
  readonly debug: boolean;
  readonly timeoutMillis: number;
  readonly maxConcurrentRequests: number;
  readonly maxBatchSize: number;
  readonly maxBatchBytes: number;
  readonly exportDeadlineMillis: number;
  readonly shutdownTimeoutMillis: number;
  readonly retry: { readonly maxAttempts: number; readonly initialBackoffMillis: number; readonly maxBackoffMillis: number };
  readonly clientInitWaitMillis: number;
  readonly maxBufferedRecords: number;
  readonly spoolDir: string | undefined;
  /** Exporter-level super properties of track records (validated, frozen copy). */
  readonly superProperties: Readonly<Record<string, unknown>> | undefined;
  /** Called per track record at mapping time. */
  readonly dynamicSuperProperties: (() => Record<string, unknown>) | undefined;
  /** Where warnings go while no OTel diag logger is registered. */
  readonly diagnostics: GravityDiagnostics;
}

type Env = Readonly<Record<string, string | undefined>>;

/** The logger of the resolution under way (it is synchronous): env warnings go to that exporter's sink. */
let log = createLogger('config');


function envValue(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

interface ParsedUrl {
  endpoint: ResolvedEndpoint;
  token: string | undefined;
}

function parseUrl(raw: string): ParsedUrl | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  if (url.username || url.password) return undefined;
  // An empty `access_token=` is no token (it must not shadow GE_ACCESS_TOKEN, nor be sent as one).
  const token = url.searchParams.get('access_token')?.trim() || undefined;
  url.searchParams.delete('access_token');
  url.hash = '';
  if (url.pathname === '' || url.pathname === '/') url.pathname = COLLECT_PATH;
  const pathAndQuery = `${url.pathname}${url.search}`;
  return { endpoint: { origin: url.origin, pathAndQuery, displayUrl: `${url.origin}${pathAndQuery}` }, token };
}

function describeUrlForError(raw: string): string {
  return raw.replace(/(access_token=)[^&#]*/gi, '$1[REDACTED]').replace(/(\/\/)[^/?#@\s]*@/, '$1[REDACTED]@');
}

function integer(
  name: string,
  envName: string | undefined,
  fromCode: number | undefined,
  env: Env,
  min: number,
  max: number,
  fallback: number,
): number {
  const rule = `an integer from ${min} to ${max}`;
  const ok = (n: number): boolean => Number.isInteger(n) && n >= min && n <= max;
  if (fromCode !== undefined) {
    if (typeof fromCode !== 'number' || !ok(fromCode)) throw configurationError('range', name, rule, fromCode);
    return fromCode;
  }
  const raw = envName === undefined ? undefined : envValue(env, envName);
  if (raw !== undefined) {
    const parsed = Number(raw);
    if (/^\d+$/.test(raw) && ok(parsed)) return parsed;
    log.warn(`${invalidConfiguration(envName!, rule, raw)}; using ${fallback}`);
  }
  return fallback;
}

function boolean(name: string, envName: string, fromCode: boolean | undefined, env: Env, fallback: boolean): boolean {
  if (fromCode !== undefined) {
    if (typeof fromCode !== 'boolean') throw configurationError('type', name, 'a boolean', fromCode);
    return fromCode;
  }
  const raw = envValue(env, envName);
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  // Only GE_DEBUG reads this: debug mode changes what the service does with the data, so no guessing.
  if (raw !== undefined) throw configurationError('value', envName, 'true or false', raw);
  return fallback;
}

function compression(fromCode: GravityCompression | undefined, env: Env): GravityCompression {
  const rule = '"gzip", "none" or "auto"';
  const isCompression = (value: unknown): value is GravityCompression => value === 'gzip' || value === 'none' || value === 'auto';
  if (fromCode !== undefined) {
    if (!isCompression(fromCode)) throw configurationError('type', 'compression', rule, fromCode);
    return fromCode;
  }
  const raw = envValue(env, 'GE_COMPRESSION')?.toLowerCase();
  if (isCompression(raw)) return raw;
  if (raw !== undefined) log.warn(`${invalidConfiguration('GE_COMPRESSION', rule, raw)}; using ${DEFAULTS.compression}`);
  return DEFAULTS.compression;
}

function endpointAndToken(options: GravityExporterOptions, env: Env): { endpoint: ResolvedEndpoint; accessToken: string } {
  // Known before any error below quotes a value: a token pasted into GE_SERVER_URL is redacted too.
  if (typeof options.accessToken === 'string') registerSecret(options.accessToken.trim());
  const envToken = envValue(env, 'GE_ACCESS_TOKEN');
  if (envToken !== undefined) registerSecret(envToken);
  let fromCode: ParsedUrl | undefined;
  if (options.url !== undefined) {
    fromCode = typeof options.url === 'string' ? parseUrl(options.url) : undefined;
    if (fromCode === undefined) {
      throw configurationError('type', 'url', urlRule(options.url), typeof options.url === 'string' ? describeUrlForError(options.url) : options.url);
    }
  }
  let fromEnv: ParsedUrl | undefined;
  const rawEnvUrl = envValue(env, 'GE_SERVER_URL');
  if (rawEnvUrl !== undefined) {
    fromEnv = parseUrl(rawEnvUrl);
    // Set but unusable is an error, never the production default: that would send test data (and the token
    // meant for a test endpoint) to a real project.
    if (fromEnv === undefined) throw configurationError('value', 'GE_SERVER_URL', urlRule(rawEnvUrl), describeUrlForError(rawEnvUrl));
  }
  const endpoint = (fromCode ?? fromEnv ?? parseUrl(DEFAULT_URL)!).endpoint;

  if (options.accessToken !== undefined && (typeof options.accessToken !== 'string' || options.accessToken.trim() === '')) {
    throw configurationError('type', 'accessToken', 'a non-empty string', typeof options.accessToken === 'string' ? '""' : typeof options.accessToken);
  }
  // Code beats env: a token given in code (option or in the code's URL) wins over any env value.
  // A token embedded in GE_SERVER_URL belongs to that URL: it is not sent to a URL given in code.
  const accessToken =
    options.accessToken ?? fromCode?.token ?? envValue(env, 'GE_ACCESS_TOKEN') ?? (fromCode === undefined ? fromEnv?.token : undefined);
  if (accessToken === undefined) {
    throw missingConfiguration(
      'accessToken',
      'Configuration: accessToken is missing; pass { accessToken }, set GE_ACCESS_TOKEN, or put access_token=... in the url',
      'a Gravity access token',
    );
  }
  registerSecret(accessToken);
  return { endpoint, accessToken };
}

/** The rule a URL setting breaks, with the likely fix when it lacks a scheme (`127.0.0.1:8080`). */
function urlRule(raw: unknown): string {
  const rule = 'an absolute http(s) URL without credentials';
  if (typeof raw !== 'string' || /^[a-z][a-z0-9+.-]*:\/\//i.test(raw.trim())) return rule;
  const guess = parseUrl(`http://${raw.trim()}`);
  return guess === undefined ? rule : `${rule}, such as http://${describeUrlForError(raw.trim())}`;
}

function diagnostics(fromCode: GravityDiagnostics | undefined, env: Env): GravityDiagnostics {
  const rule = `${DIAGNOSTICS_ENV_VALUES.map((value) => `"${value}"`).join(', ')} or a function`;
  if (fromCode !== undefined) {
    if (!isGravityDiagnostics(fromCode)) throw configurationError('type', 'diagnostics', rule, fromCode);
    return fromCode;
  }
  const raw = envValue(env, 'GE_DIAGNOSTICS')?.toLowerCase();
  if (raw === undefined || isGravityDiagnostics(raw)) return raw ?? 'stderr';
  log.warn(`${invalidConfiguration('GE_DIAGNOSTICS', DIAGNOSTICS_ENV_VALUES.join(', '), raw)}; using stderr`);
  return 'stderr';
}

function optionalPath(name: string, envName: string, fromCode: string | undefined, env: Env): string | undefined {
  if (fromCode !== undefined) {
    if (typeof fromCode !== 'string' || fromCode.trim() === '') throw configurationError('type', name, 'a non-empty path', fromCode);
    return fromCode;
  }
  return envValue(env, envName);
}

function retryOptions(options: GravityExporterOptions): ResolvedConfig['retry'] {
  const retry = options.retry ?? {};
  if (typeof retry !== 'object' || retry === null) throw configurationError('type', 'retry', 'an object', retry);
  const resolved = {
    maxAttempts: integer('retry.maxAttempts', undefined, retry.maxAttempts, {}, 1, 1000, DEFAULTS.retryMaxAttempts),
    initialBackoffMillis: integer('retry.initialBackoffMillis', undefined, retry.initialBackoffMillis, {}, 0, 600_000, DEFAULTS.retryInitialBackoffMillis),
    maxBackoffMillis: integer('retry.maxBackoffMillis', undefined, retry.maxBackoffMillis, {}, 0, 600_000, DEFAULTS.retryMaxBackoffMillis),
  };
  if (resolved.maxBackoffMillis < resolved.initialBackoffMillis) {
    throw configurationError('range', 'retry.maxBackoffMillis', `at least retry.initialBackoffMillis (${resolved.initialBackoffMillis})`, resolved.maxBackoffMillis);
  }
  return Object.freeze(resolved);
}

/**
 * Resolves `options` (code), then `env`, then `DEFAULTS`. Throws `GravityConfigurationError` on a bad value in
 * code, and on a bad `GE_SERVER_URL` or `GE_DEBUG` (where the data goes); warns on other bad env values.
 */
export function resolveConfig(options: GravityExporterOptions = {}, env: Env = process.env): ResolvedConfig {
  const diagnosticsSink = diagnostics(options.diagnostics, env);
  log = createLogger('config', diagnosticsSink);
  const { endpoint, accessToken } = endpointAndToken(options, env);
  const debug = boolean('debug', 'GE_DEBUG', options.debug, env, DEFAULTS.debug);
  return Object.freeze({
    endpoint: Object.freeze(endpoint),
    accessToken,
    compression: compression(options.compression, env),
    debug,
    timeoutMillis: integer('timeoutMillis', 'GE_TIMEOUT_MILLIS', options.timeoutMillis, env, 1, 600_000, DEFAULTS.timeoutMillis),
    maxConcurrentRequests: integer(
      'maxConcurrentRequests',
      'GE_MAX_CONCURRENT_REQUESTS',
      options.maxConcurrentRequests,
      env,
      1,
      1024,
      DEFAULTS.maxConcurrentRequests,
    ),
    maxBatchSize: integer('maxBatchSize', undefined, options.maxBatchSize, env, 1, MAX_RECORDS_PER_REQUEST, DEFAULTS.maxBatchSize),
    maxBatchBytes: integer('maxBatchBytes', undefined, options.maxBatchBytes, env, 1024, 50_000_000, DEFAULTS.maxBatchBytes),
    exportDeadlineMillis: integer(
      'exportDeadlineMillis',
      'GE_EXPORT_DEADLINE_MILLIS',
      options.exportDeadlineMillis,
      env,
      1,
      3_600_000,
      DEFAULTS.exportDeadlineMillis,
    ),
    shutdownTimeoutMillis: integer(
      'shutdownTimeoutMillis',
      'GE_SHUTDOWN_TIMEOUT_MILLIS',
      options.shutdownTimeoutMillis,
      env,
      1,
      3_600_000,
      DEFAULTS.shutdownTimeoutMillis,
    ),
    retry: retryOptions(options),
    clientInitWaitMillis: integer(
      'clientInitWaitMillis',
      'GE_CLIENT_INIT_WAIT_MILLIS',
      options.clientInitWaitMillis,
      env,
      0,
      86_400_000,
      DEFAULTS.clientInitWaitMillis,
    ),
    maxBufferedRecords: integer(
      'maxBufferedRecords',
      'GE_MAX_BUFFERED_RECORDS',
      options.maxBufferedRecords,
      env,
      1,
      100_000_000,
      DEFAULTS.maxBufferedRecords,
    ),
    spoolDir: optionalPath('spoolDir', 'GE_SPOOL_DIR', options.spoolDir, env),
    ...superPropertyOptions(options),
    diagnostics: diagnosticsSink,
  });
}

function superPropertyOptions(options: GravityExporterOptions): Pick<ResolvedConfig, 'superProperties' | 'dynamicSuperProperties'> {
  const { superProperties, dynamicSuperProperties } = options;
  if (dynamicSuperProperties !== undefined && typeof dynamicSuperProperties !== 'function') {
    throw configurationError('type', 'dynamicSuperProperties', 'a function', typeof dynamicSuperProperties);
  }
  if (superProperties === undefined) return { superProperties: undefined, dynamicSuperProperties };
  if (!isPropertyMap(superProperties)) throw configurationError('type', 'superProperties', 'an object', superProperties);
  const rejection = checkTrackProperties(superProperties);
  if (rejection !== undefined) {
    throw configurationError('type', 'superProperties', 'Gravity property keys and JSON values', rejection.reason);
  }
  return { superProperties: Object.freeze(snapshotValue(superProperties)), dynamicSuperProperties };
}
