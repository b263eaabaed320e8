/**
 * Errors reported by the exporters (as `ExportResult.error`) and thrown on misuse.
 * Each carries a stable string `code` to branch on; messages never contain the access token.
 */
import { redact } from './diag.js';

/**
 * Configuration errors thrown as a `TypeError` or `RangeError` (what they were before they had a class of their
 * own) are made by the classes at the end of this file: these let `instanceof` see them as
 * `GravityConfigurationError` and `GravityExportError` too.
 */
const configurationErrors = new WeakSet<object>();

/** Base class of every error this package reports. */
export class GravityExportError extends Error {
  override name = 'GravityExportError';
  /** Stable identifier of the kind of error, e.g. `GRAVITY_HTTP_ERROR`. */
  readonly code: string;
  constructor(message: string, code = 'GRAVITY_EXPORT_ERROR', options?: { cause?: unknown }) {
    super(redact(message), options);
    this.code = code;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    // Subclasses inherit this method: only the two classes a configuration error belongs to accept one.
    const self: unknown = this;
    return (self === GravityExportError || self === GravityConfigurationError) && typeof value === 'object' && value !== null && configurationErrors.has(value);
  }
}

/** What a {@link GravityConfigurationError} says about the setting. */
export interface ConfigurationProblem {
  /** The option or env var, e.g. `url`, `GE_SERVER_URL`, `retry.maxAttempts`. */
  readonly option: string;
  /** What it must be, e.g. `an absolute http(s) URL`. */
  readonly expected: string;
  /** The value found, as text (the token redacted); `undefined` when the setting is missing. */
  readonly actual: string | undefined;
}

/**
 * An invalid or missing setting, in code or in the environment: thrown by constructors, before anything is
 * sent. `code` is always `GRAVITY_CONFIGURATION_ERROR`. A wrong type or shape is also an `instanceof
 * TypeError`, a number out of range an `instanceof RangeError`, as they were before this class covered them.
 */
export class GravityConfigurationError extends GravityExportError {
  override name = 'GravityConfigurationError';
  readonly option: string;
  readonly expected: string;
  readonly actual: string | undefined;
  /** `problem` names the setting; without it (an error about the set-up as a whole) `option` and `expected` are empty. */
  constructor(message: string, problem: ConfigurationProblem = { option: '', expected: '', actual: undefined }) {
    super(message, CONFIGURATION_ERROR_CODE);
    this.option = problem.option;
    this.expected = problem.expected;
    this.actual = problem.actual;
  }
}

const CONFIGURATION_ERROR_CODE = 'GRAVITY_CONFIGURATION_ERROR';

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

/**
 * A short, stable key of why a delivery failed, for rate-limiting reports and counting causes: `http_404`,
 * `code_1` (the service's `code`), `network_ECONNREFUSED`, `GRAVITY_TIMEOUT`, or the error's `code`.
 */
export function causeOf(error: unknown): string {
  if (error instanceof GravityHttpError) return `http_${error.status}`;
  if (error instanceof GravityRejectedError) return `code_${error.serviceCode}`;
  if (error instanceof GravityNetworkError) return `network_${error.networkCode ?? 'unknown'}`;
  if (error instanceof GravityExportError) return error.code;
  return 'error';
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
  // Thrown errors do not pass through the redacting logger: a token pasted into the wrong setting stays out.
  return redact(`Configuration: ${name} is invalid, expected ${rule} (actual: ${showActual(actual)})`);
}

function showActual(actual: unknown): string {
  try {
    return typeof actual === 'object' && actual !== null ? JSON.stringify(actual) : String(actual);
  } catch {
    return String(actual);
  }
}

/** Which built-in error class a configuration error also is. */
export type ConfigurationErrorKind = 'type' | 'range' | 'value';

/**
 * The one error of an invalid setting: a {@link GravityConfigurationError} that is also a `TypeError` (`type`:
 * wrong type or shape) or a `RangeError` (`range`: a number out of range); `value` is neither.
 */
export function configurationError(kind: ConfigurationErrorKind, option: string, expected: string, actual: unknown): GravityConfigurationError {
  const problem: ConfigurationProblem = { option, expected: redact(expected), actual: redact(showActual(actual)) };
  const message = invalidConfiguration(option, expected, actual);
  if (kind === 'value') return new GravityConfigurationError(message, problem);
  const error = kind === 'type' ? new ConfigurationTypeError(message, problem) : new ConfigurationRangeError(message, problem);
  return error as unknown as GravityConfigurationError;
}

/** A required setting found nowhere. */
export function missingConfiguration(option: string, message: string, expected: string): GravityConfigurationError {
  return new GravityConfigurationError(message, { option, expected, actual: undefined });
}

// The TypeError and RangeError faces of GravityConfigurationError: same name, code and fields (and the class
// name, which is what util.inspect and uncaught-error output show).
function configurationErrorFace(Base: new (message?: string) => Error) {
  return class GravityConfigurationError extends Base {
    override name = 'GravityConfigurationError';
    readonly code = CONFIGURATION_ERROR_CODE;
    readonly option: string;
    readonly expected: string;
    readonly actual: string | undefined;
    constructor(message: string, problem: ConfigurationProblem) {
      super(message);
      this.option = problem.option;
      this.expected = problem.expected;
      this.actual = problem.actual;
      configurationErrors.add(this);
    }
  };
}

const ConfigurationTypeError = configurationErrorFace(TypeError);
const ConfigurationRangeError = configurationErrorFace(RangeError);
