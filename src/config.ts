/** Resolves options, env and defaults into one frozen configuration (style guide §2.4). */
import { COLLECT_PATH, MAX_RECORDS_PER_REQUEST } from './mapping/rules.js';
import { createLogger, registerSecret } from './diag.js';
import { GravityConfigurationError } from './errors.js';
import type { GravityCompression, GravityExporterOptions } from './options.js';

export const DEFAULT_URL = `https://backend.gravity-engine.com${COLLECT_PATH}`;

export const DEFAULTS = Object.freeze({
  url: DEFAULT_URL,
  compression: 'gzip' as GravityCompression,
  debug: false,
  timeoutMillis: 10_000,
  maxConcurrentRequests: 32,
  maxBatchSize: MAX_RECORDS_PER_REQUEST,
  maxBatchBytes: 1_000_000,
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
}

type Env = Readonly<Record<string, string | undefined>>;

const log = createLogger('config');

function invalid(name: string, rule: string, actual: unknown): string {
  return `Configuration: ${name} is invalid, expected ${rule} (actual: ${String(actual)})`;
}

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
  const token = url.searchParams.get('access_token') ?? undefined;
  url.searchParams.delete('access_token');
  url.hash = '';
  if (url.pathname === '' || url.pathname === '/') url.pathname = COLLECT_PATH;
  const pathAndQuery = `${url.pathname}${url.search}`;
  return { endpoint: { origin: url.origin, pathAndQuery, displayUrl: `${url.origin}${pathAndQuery}` }, token };
}

function describeUrlForError(raw: string): string {
  return raw.replace(/(access_token=)[^&#]*/gi, '$1[REDACTED]');
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
    if (typeof fromCode !== 'number' || !ok(fromCode)) throw new RangeError(invalid(name, rule, fromCode));
    return fromCode;
  }
  const raw = envName === undefined ? undefined : envValue(env, envName);
  if (raw !== undefined) {
    const parsed = Number(raw);
    if (/^\d+$/.test(raw) && ok(parsed)) return parsed;
    log.warn(`${invalid(envName!, rule, raw)}; using ${fallback}`);
  }
  return fallback;
}

function boolean(name: string, envName: string, fromCode: boolean | undefined, env: Env, fallback: boolean): boolean {
  if (fromCode !== undefined) {
    if (typeof fromCode !== 'boolean') throw new TypeError(invalid(name, 'a boolean', fromCode));
    return fromCode;
  }
  const raw = envValue(env, envName);
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  if (raw !== undefined) log.warn(`${invalid(envName, 'true or false', raw)}; using ${fallback}`);
  return fallback;
}

function compression(fromCode: GravityCompression | undefined, env: Env): GravityCompression {
  const rule = '"gzip" or "none"';
  if (fromCode !== undefined) {
    if (fromCode !== 'gzip' && fromCode !== 'none') throw new TypeError(invalid('compression', rule, fromCode));
    return fromCode;
  }
  const raw = envValue(env, 'GE_COMPRESSION')?.toLowerCase();
  if (raw === 'gzip' || raw === 'none') return raw;
  if (raw !== undefined) log.warn(`${invalid('GE_COMPRESSION', rule, raw)}; using ${DEFAULTS.compression}`);
  return DEFAULTS.compression;
}

function endpointAndToken(options: GravityExporterOptions, env: Env): { endpoint: ResolvedEndpoint; accessToken: string } {
  const rule = 'an http(s) URL without credentials';
  let fromCode: ParsedUrl | undefined;
  if (options.url !== undefined) {
    fromCode = typeof options.url === 'string' ? parseUrl(options.url) : undefined;
    if (fromCode === undefined) {
      throw new TypeError(invalid('url', rule, typeof options.url === 'string' ? describeUrlForError(options.url) : options.url));
    }
  }
  let fromEnv: ParsedUrl | undefined;
  const rawEnvUrl = envValue(env, 'GE_SERVER_URL');
  if (rawEnvUrl !== undefined) {
    fromEnv = parseUrl(rawEnvUrl);
    if (fromEnv === undefined) log.warn(`${invalid('GE_SERVER_URL', rule, describeUrlForError(rawEnvUrl))}; using ${DEFAULT_URL}`);
  }
  const endpoint = (fromCode ?? fromEnv ?? parseUrl(DEFAULT_URL)!).endpoint;

  if (options.accessToken !== undefined && (typeof options.accessToken !== 'string' || options.accessToken.trim() === '')) {
    throw new TypeError(invalid('accessToken', 'a non-empty string', typeof options.accessToken === 'string' ? '""' : typeof options.accessToken));
  }
  // Code beats env: a token given in code (option or in the code's URL) wins over any env value.
  const accessToken = options.accessToken ?? fromCode?.token ?? envValue(env, 'GE_ACCESS_TOKEN') ?? fromEnv?.token;
  if (accessToken === undefined) {
    throw new GravityConfigurationError(
      'Configuration: accessToken is missing; pass { accessToken }, set GE_ACCESS_TOKEN, or put access_token=... in the url',
    );
  }
  registerSecret(accessToken);
  return { endpoint, accessToken };
}

/** Resolves `options` (code), then `env`, then `DEFAULTS`. Throws on bad values in code; warns on bad env. */
export function resolveConfig(options: GravityExporterOptions = {}, env: Env = process.env): ResolvedConfig {
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
  });
}
