/**
 * What differs between the OpenTelemetry JS lines the suite runs on, in one place: 2.x (api <= 1.9, the Logs
 * API in @opentelemetry/api-logs, @opentelemetry/sdk-trace-base) and 3.x (api 1.10 with `logs`,
 * @opentelemetry/sdk-trace, no api-logs or sdk-trace-base). Tests take the Logs API types, the global logger
 * registration and the trace SDK from here, so the same tests run on whichever line is installed.
 * The trace SDK's types come from @opentelemetry/sdk-trace, installed on both lines (sdk-trace-base 2.9+ is
 * built on it).
 */
import { createRequire } from 'node:module';
import * as otelApi from '@opentelemetry/api';
import type { LoggerProvider, LogRecordProcessor } from '@opentelemetry/sdk-logs';
import type * as SdkTrace from '@opentelemetry/sdk-trace';

const require = createRequire(import.meta.url);

/** 3 when `@opentelemetry/api` carries the Logs API (1.10 and later: OpenTelemetry JS 3.x), else 2. */
export const OTEL_LINE: 2 | 3 = 'logs' in otelApi ? 3 : 2;

/** A Logs API logger, as the installed sdk-logs' `LoggerProvider` hands it out. */
export type Logger = ReturnType<LoggerProvider['getLogger']>;
/** A Logs API log record (what `logger.emit` takes). */
export type LogRecord = Parameters<Logger['emit']>[0];
export type LogAttributes = NonNullable<LogRecord['attributes']>;
export type LogBody = LogRecord['body'];
/** A map body of a log record. */
export type AnyValueMap = LogAttributes;
/** The record a log record processor's `onEmit` receives. */
export type SdkLogRecord = Parameters<LogRecordProcessor['onEmit']>[0];

/** The Logs API's global registry of the installed line. */
export interface GlobalLogs {
  setGlobalLoggerProvider(provider: LoggerProvider): unknown;
  disable(): void;
}

/** `logs` of `@opentelemetry/api` on 3.x, of `@opentelemetry/api-logs` on 2.x. */
export const globalLogs: GlobalLogs =
  OTEL_LINE === 3
    ? (otelApi as unknown as { logs: GlobalLogs }).logs
    : (require('@opentelemetry/api-logs') as { logs: GlobalLogs }).logs;

/** The trace SDK a user of the installed line installs: sdk-trace-base on 2.x, sdk-trace on 3.x. */
export const TRACE_SDK = OTEL_LINE === 3 ? '@opentelemetry/sdk-trace' : '@opentelemetry/sdk-trace-base';

export type { ReadableSpan, SpanExporter, SpanProcessor, TimedEvent } from '@opentelemetry/sdk-trace';

const traceSdk = require(TRACE_SDK) as typeof SdkTrace & { BasicTracerProvider?: typeof SdkTrace.TracerProvider };

/** The tracer provider of that SDK: sdk-trace-base's `BasicTracerProvider`, sdk-trace's `TracerProvider`. */
export const TracerProvider: typeof SdkTrace.TracerProvider = traceSdk.BasicTracerProvider ?? traceSdk.TracerProvider;
export type TracerProvider = SdkTrace.TracerProvider;
export const { AlwaysOnSampler, ParentBasedSampler } = traceSdk;
export type ParentBasedSampler = SdkTrace.ParentBasedSampler;

/** Batch processor settings, as both SDKs take them. */
export type BatchSpanProcessorConfig = Omit<SdkTrace.BatchSpanProcessorOptions, 'exporter'>;

/**
 * That SDK's `BatchSpanProcessor` around `exporter`: sdk-trace-base's takes `(exporter, config)`, sdk-trace's
 * one options object.
 */
export function createBatchSpanProcessor(exporter: SdkTrace.SpanExporter, config: BatchSpanProcessorConfig = {}): SdkTrace.SpanProcessor {
  const Processor = traceSdk.BatchSpanProcessor as unknown as new (...args: object[]) => SdkTrace.SpanProcessor;
  return TRACE_SDK === '@opentelemetry/sdk-trace-base' ? new Processor(exporter, config) : new Processor({ exporter, ...config });
}
