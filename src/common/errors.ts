/**
 * Errors reported by the exporters (as `ExportResult.error`) and thrown on misuse.
 * Each carries a stable string `code` to branch on; messages never contain the access token.
 */
import { redact } from './diag.js';

/** Base class of every error this package reports. */
export class GravityExportError extends Error {
  override name = 'GravityExportError';
  /** Stable identifier of the kind of error, e.g. `GRAVITY_HTTP_ERROR`. */
  readonly code: string;
  constructor(message: string, code = 'GRAVITY_EXPORT_ERROR', options?: { cause?: unknown }) {
    super(redact(message), options);
    this.code = code;
  }
}

/** Invalid configuration supplied in code (thrown by constructors). */
export class GravityConfigurationError extends GravityExportError {
  override name = 'GravityConfigurationError';
  constructor(message: string) {
    super(message, 'GRAVITY_CONFIGURATION_ERROR');
  }
}

/** The endpoint answered with an HTTP status other than 200. */
export class GravityHttpError extends GravityExportError {
  override name = 'GravityHttpError';
  /** HTTP status code. */
  readonly status: number;
  /** Start of the response body (at most a few hundred characters). */
  readonly bodyExcerpt: string;
  /** `Retry-After` in milliseconds when the response had a valid one. */
  readonly retryAfterMillis: number | undefined;
  constructor(status: number, bodyExcerpt: string, retryAfterMillis?: number) {
    super(`HTTP ${status}${bodyExcerpt ? `: ${bodyExcerpt}` : ''}`, 'GRAVITY_HTTP_ERROR');
    this.status = status;
    this.bodyExcerpt = redact(bodyExcerpt);
    this.retryAfterMillis = retryAfterMillis;
  }
}

/** The request did not complete: connection refused or reset, DNS, TLS... `networkCode` is undici's or Node's. */
export class GravityNetworkError extends GravityExportError {
  override name = 'GravityNetworkError';
  /** The underlying error code, e.g. `ECONNREFUSED`, `UND_ERR_SOCKET`. */
  readonly networkCode: string | undefined;
  constructor(message: string, networkCode: string | undefined, cause?: unknown) {
    super(`network error${networkCode ? ` ${networkCode}` : ''}: ${message}`, 'GRAVITY_NETWORK_ERROR', { cause });
    this.networkCode = networkCode;
  }
}

/** No response within `timeoutMillis`. */
export class GravityTimeoutError extends GravityExportError {
  override name = 'GravityTimeoutError';
  readonly timeoutMillis: number;
  constructor(timeoutMillis: number) {
    super(`no response within ${timeoutMillis} ms`, 'GRAVITY_TIMEOUT');
    this.timeoutMillis = timeoutMillis;
  }
}

/** HTTP 200 with a non-zero `code`: the service refused the request's records. */
export class GravityRejectedError extends GravityExportError {
  override name = 'GravityRejectedError';
  /** The service's `code`. */
  readonly serviceCode: number;
  /** The service's `msg`. */
  readonly serviceMessage: string;
  /** The service's `extra` (e.g. `errors`), as received. */
  readonly extra: unknown;
  constructor(serviceCode: number, serviceMessage: string, extra: unknown, hint?: string, code = 'GRAVITY_REJECTED') {
    const detail = extra !== undefined && extra !== null && JSON.stringify(extra) !== '{}' ? ` ${truncate(JSON.stringify(extra), 500)}` : '';
    super(
      `rejected by Gravity: code ${serviceCode}${serviceMessage ? ` "${serviceMessage}"` : ''}${detail}${hint ? ` (${hint})` : ''}`,
      code,
    );
    this.serviceCode = serviceCode;
    this.serviceMessage = serviceMessage;
    this.extra = extra;
  }
}

/** `code` 2000: the client id was not initialised by a Gravity client SDK yet. */
export class GravityClientNotInitialisedError extends GravityRejectedError {
  override name = 'GravityClientNotInitialisedError';
  constructor(serviceMessage: string, extra: unknown) {
    super(
      2000,
      serviceMessage,
      extra,
      'the client id has not been initialised by a Gravity client SDK yet: the app must call initialize for this user first',
      'GRAVITY_CLIENT_NOT_INITIALISED',
    );
  }
}

/** The exporter was shut down. */
export class GravityShutdownError extends GravityExportError {
  override name = 'GravityShutdownError';
  constructor(message = 'the exporter has been shut down') {
    super(message, 'GRAVITY_SHUTDOWN');
  }
}

/** Normalises any thrown value into an `Error`. */
export function asError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new Error(typeof value === 'string' ? value : `non-error thrown: ${String(value)}`);
}

export function truncate(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : `${text.slice(0, maxChars)}…`;
}

/**
 * Misuse of `GravityAnalytics` in code (thrown synchronously, nothing is emitted): an empty client id, a key
 * that does not fit Gravity's key rule, a non-numeric increment, a non-array append, NaN or Infinity, ...
 */
export class GravityValidationError extends GravityExportError {
  override name = 'GravityValidationError';
  /** What was wrong: `clientId`, `eventName`, `time`, `keys[1]`, or the property key / path (`order.items[0]`). */
  readonly field: string;
  /** Stable reason code, the mapping's rejection code (`invalid_key`, `invalid_operation_value`, ...) or `invalid_argument`. */
  readonly reason: string;
  constructor(message: string, field: string, reason: string) {
    super(message, 'GRAVITY_VALIDATION_ERROR');
    this.field = field;
    this.reason = reason;
  }
}

/**
 * The message of every bad setting, in code or env:
 * `Configuration: <name> is invalid, expected <rule> (actual: <value>)`.
 */
export function invalidConfiguration(name: string, rule: string, actual: unknown): string {
  let shown: string;
  try {
    shown = typeof actual === 'object' && actual !== null ? JSON.stringify(actual) : String(actual);
  } catch {
    shown = String(actual);
  }
  // Thrown errors do not pass through the redacting logger: a token pasted into the wrong setting stays out.
  return redact(`Configuration: ${name} is invalid, expected ${rule} (actual: ${shown})`);
}
