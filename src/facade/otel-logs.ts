/**
 * The OTel Logs API as the facade uses it, on both OpenTelemetry JS lines. 2.x keeps it in
 * `@opentelemetry/api-logs`; 3.x in `@opentelemetry/api` 1.10+ (`logs`), and has no api-logs at all. So the
 * types are declared here (both lines' loggers and providers fit them), and the globally registered provider
 * is looked up in both places.
 */
import * as otelApi from '@opentelemetry/api';

/** A log record value (the Logs API's `AnyValue`). */
export type AnyValue = string | number | boolean | Uint8Array | AnyValue[] | AnyValueMap | null | undefined;

/** A map of log record values (the Logs API's `AnyValueMap`). */
export interface AnyValueMap {
  [key: string]: AnyValue;
}

/** The fields of a Logs API `LogRecord` the facade emits. */
export interface GravityLogRecord {
  eventName?: string;
  /** `[seconds, nanoseconds]` since the epoch. */
  timestamp?: [number, number];
  attributes?: AnyValueMap;
  body?: AnyValue;
}

/** A Logs API `Logger`: from `@opentelemetry/api-logs` (2.x), `@opentelemetry/api` (3.x) or a provider. */
export interface Logger {
  emit(logRecord: GravityLogRecord): void;
}

/** A Logs API `LoggerProvider`, such as `@opentelemetry/sdk-logs`' `LoggerProvider` on either line. */
export interface LoggerProvider {
  getLogger(name: string, version?: string, options?: { schemaUrl?: string }): Logger;
}

interface LogsApi {
  getLoggerProvider(): LoggerProvider;
}

/**
 * Where the two Logs APIs keep the registered provider. Each key is shared by every copy and version of its
 * API (that is what `Symbol.for` is for), so a provider registered by another copy is found too.
 * - `@opentelemetry/api` 1.x: an object holding one entry per API; `logs` from 1.10 on.
 * - `@opentelemetry/api-logs` 0.x: a getter taking the API's compatibility version (1) and answering the
 *   provider, or a no-op provider for an incompatible version.
 */
const API_GLOBAL = Symbol.for('opentelemetry.js.api.1');
const API_LOGS_GLOBAL = Symbol.for('io.opentelemetry.js.api.logs');
const API_LOGS_COMPATIBILITY_VERSION = 1;

/**
 * The logger provider registered globally through `@opentelemetry/api`'s `logs` (OpenTelemetry JS 3.x:
 * NodeSDK 0.30x, sdk-logs 3) or `@opentelemetry/api-logs` (2.x), in that order; `undefined` when neither
 * has one.
 */
export function registeredGlobalLoggerProvider(): LoggerProvider | undefined {
  const globals = globalThis as unknown as Record<symbol, unknown>;
  const apiLogs = (otelApi as { logs?: LogsApi }).logs;
  if (apiLogs !== undefined && (globals[API_GLOBAL] as { logs?: unknown } | undefined)?.logs !== undefined) {
    return apiLogs.getLoggerProvider();
  }
  const apiLogsGetter = globals[API_LOGS_GLOBAL];
  if (typeof apiLogsGetter === 'function') {
    return (apiLogsGetter as (version: number) => LoggerProvider | undefined)(API_LOGS_COMPATIBILITY_VERSION);
  }
  return undefined;
}
