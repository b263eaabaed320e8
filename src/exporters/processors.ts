/**
 * Batch processors sized for analytics traffic. The OTel defaults (queue 2,048, batches of 512,
 * one export at a time) drop most of a burst before it reaches any exporter: the bench (BENCHMARKS.md)
 * measured 47,440 of a 50,000-record burst dropped at the default processor's queue.
 */
import * as otelApi from '@opentelemetry/api';
import { TraceFlags } from '@opentelemetry/api';
import { BatchLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { configurationError, missingConfiguration } from '../common/errors.js';
import { pipelineOf } from './exporter-base.js';
import { GravityLogRecordExporter } from './log-record-exporter.js';
import { createQueueAccounting } from './processor-accounting.js';
import type { GravityExporterOptions, GravitySpanExporterOptions } from '../config/options.js';
import { loadOptionalPeer } from './peer-require.cjs';
import { GravitySpanExporter } from './span-exporter.js';
import type { GravityReadableSpan, GravitySpanProcessor } from '../mapping/trace-types.js';

/** Settings of the OTel batch processor the helpers build; each field overrides its default. */
export interface GravityProcessorOptions {
  /** Records (or spans) the processor holds before it drops new ones. @default 65536 */
  maxQueueSize?: number;
  /**
   * Records (or spans) per `export()` call. It may exceed the exporter's `maxBufferedRecords`: a larger
   * export waits for its own earlier requests to make room.
   * @default 65536
   */
  maxExportBatchSize?: number;
  /** Longest wait before a partial batch is exported, in milliseconds. @default 500 */
  scheduledDelayMillis?: number;
  /** How long the processor waits for one export before it gives up on it, in milliseconds. @default 30000 */
  exportTimeoutMillis?: number;
}

/**
 * The helpers' processor settings, chosen with `npm run bench` (BENCHMARKS.md; README "Performance and
 * processor settings"):
 * - `maxQueueSize` 65,536: holds a 50,000-record burst emitted in one tick (S1) with room to spare. A queued
 *   log record costs ~1–1.5 kB, so a full queue is bounded near 100 MB.
 * - `maxExportBatchSize` 65,536 (the whole queue): the processor exports one batch at a time and each client's
 *   records are split across batches, so larger batches make fewer, fuller requests (S1: 7,554 requests at
 *   4,096, 3,149 at 16,384, 2,059 at 32,768, 1,142 — the per-client floor — at 65,536). The exporter starts a
 *   batch's requests while it is still mapping it and, when the batch is larger than its
 *   `maxBufferedRecords`, waits for its own earlier requests instead of dropping records.
 * - `scheduledDelayMillis` 500: at a steady 5,000 records/s (S3, 20 ms answers) 200 ms cost 13% more CPU
 *   and 45% more requests than 500 ms (p99 emit→accepted 374 vs 786 ms); 1,000 ms saved no more CPU and
 *   doubled p99 (1.4 s).
 * - `exportTimeoutMillis` 30,000: above the exporter's `exportDeadlineMillis` (25,000), so the exporter
 *   reports first.
 */
export const GRAVITY_PROCESSOR_DEFAULTS: Readonly<Required<GravityProcessorOptions>> = Object.freeze({
  maxQueueSize: 65_536,
  maxExportBatchSize: 65_536,
  scheduledDelayMillis: 500,
  exportTimeoutMillis: 30_000,
});

function resolveProcessorOptions(options: GravityProcessorOptions): Required<GravityProcessorOptions> {
  const resolved = { ...GRAVITY_PROCESSOR_DEFAULTS };
  for (const name of Object.keys(GRAVITY_PROCESSOR_DEFAULTS) as Array<keyof GravityProcessorOptions>) {
    const value = options[name];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw configurationError('range', name, 'a positive integer', value);
    }
    resolved[name] = value;
  }
  // A smaller queue alone brings the batch down with it: only a batch size given too is held against it.
  if (options.maxExportBatchSize === undefined) resolved.maxExportBatchSize = Math.min(resolved.maxExportBatchSize, resolved.maxQueueSize);
  if (resolved.maxExportBatchSize > resolved.maxQueueSize) {
    throw configurationError('range', 'maxExportBatchSize', `at most maxQueueSize (${resolved.maxQueueSize})`, resolved.maxExportBatchSize);
  }
  return resolved;
}

/**
 * A `BatchLogRecordProcessor` around a `GravityLogRecordExporter` (made from the options given, or the
 * exporter given, e.g. to keep its `getStats()` at hand), with queue and batch sizes that do
 * not drop realistic bursts ({@link GRAVITY_PROCESSOR_DEFAULTS}). Records its queue still drops are counted in
 * the exporter's `getStats().droppedByProcessor` (and self-metrics) and reported through `diag`. The
 * processor's own `OTEL_BLRP_*` env vars do not apply: pass `processorOptions` instead.
 *
 * @throws {GravityConfigurationError} as the exporter's constructor does, and for a processor setting that
 * is not a positive integer (then also a `RangeError`).
 *
 * @example
 * ```ts
 * import { LoggerProvider } from '@opentelemetry/sdk-logs';
 * import { createGravityLogRecordProcessor } from 'gravity-otel-exporter';
 *
 * const provider = new LoggerProvider({ processors: [createGravityLogRecordProcessor()] }); // GE_ACCESS_TOKEN
 * ```
 */
export function createGravityLogRecordProcessor(
  exporter: GravityExporterOptions | GravityLogRecordExporter = {},
  processorOptions: GravityProcessorOptions = {},
): BatchLogRecordProcessor {
  const settings = resolveProcessorOptions(processorOptions);
  const instance = exporter instanceof GravityLogRecordExporter ? exporter : new GravityLogRecordExporter(exporter);
  const accounting = createQueueAccounting(pipelineOf(instance), settings.maxQueueSize, 'logs');
  const counted = accounting.countExports(instance);
  const config = { ...settings, selfObsMeterProvider: accounting.meterProvider };
  // sdk-logs before 0.220 takes (exporter, config); from 0.220 on, one options object holding the exporter.
  // This argument reads right either way: as options ({ exporter, ...config }) or, through its prototype, as
  // the exporter itself (its methods run with the instance's fields).
  const exporterOrOptions: object = Object.assign(Object.create(counted) as object, { exporter: counted, ...config });
  const processor = new (BatchLogRecordProcessor as unknown as AnyBatchLogRecordProcessor)(exporterOrOptions, config);
  accounting.attach(processor, 'onEmit', () => 1);
  return processor;
}

/** Both constructor shapes of `BatchLogRecordProcessor` across the supported sdk-logs releases. */
type AnyBatchLogRecordProcessor = new (exporterOrOptions: object, config?: object) => BatchLogRecordProcessor;

/**
 * A `BatchSpanProcessor` around a `GravitySpanExporter` (made from the options given, or the exporter given) with the same settings as
 * {@link createGravityLogRecordProcessor} (counted in spans: a span carries all its events). A span its queue
 * drops is counted by its events in `getStats().droppedByProcessor`, and reported.
 * The processor's own `OTEL_BSP_*` env vars do not apply: pass `processorOptions` instead.
 * The processor comes from the trace SDK installed beside this package, loaded on the first call:
 * `@opentelemetry/sdk-trace-base` (OpenTelemetry JS 2.x) or `@opentelemetry/sdk-trace` (2.9+ and 3.x).
 *
 * @throws as {@link createGravityLogRecordProcessor}, and {@link GravityConfigurationError} naming the package
 * to install when neither trace SDK is installed.
 */
export function createGravitySpanProcessor(
  exporter: GravitySpanExporterOptions | GravitySpanExporter = {},
  processorOptions: GravityProcessorOptions = {},
): GravitySpanProcessor {
  const settings = resolveProcessorOptions(processorOptions);
  const newBatchSpanProcessor = loadBatchSpanProcessor();
  const instance = exporter instanceof GravitySpanExporter ? exporter : new GravitySpanExporter(exporter);
  const accounting = createQueueAccounting(pipelineOf(instance), settings.maxQueueSize, 'spans');
  // `selfObsMeterProvider` is read by sdk-trace 2.10+ (passed through by sdk-trace-base's shim) and ignored before.
  const config: typeof settings = Object.assign({ ...settings }, { selfObsMeterProvider: accounting.meterProvider });
  const processor = newBatchSpanProcessor(accounting.countExports(instance), config);
  accounting.attach(
    processor,
    'onEnd',
    (span) => (span as GravityReadableSpan).events.length,
    (span) => ((span as GravityReadableSpan).spanContext().traceFlags & TraceFlags.SAMPLED) !== 0,
  );
  return processor;
}

type NewBatchSpanProcessor = (exporter: GravitySpanExporter, settings: Required<GravityProcessorOptions>) => GravitySpanProcessor;

interface TraceSdk {
  readonly BatchSpanProcessor?: new (...args: object[]) => GravitySpanProcessor;
}

const SDK_TRACE = '@opentelemetry/sdk-trace';
const SDK_TRACE_BASE = '@opentelemetry/sdk-trace-base';
let newBatchSpanProcessorOfInstalledSdk: NewBatchSpanProcessor | undefined;

/**
 * The installed trace SDK's `BatchSpanProcessor`, called the way its package takes it: sdk-trace-base's as
 * `(exporter, config)`, sdk-trace's with one options object `{ exporter, ...config }`. The SDK of the line the
 * installed `@opentelemetry/api` belongs to is tried first (sdk-trace from api 1.10 on, whose `logs` is new).
 */
function loadBatchSpanProcessor(): NewBatchSpanProcessor {
  if (newBatchSpanProcessorOfInstalledSdk !== undefined) return newBatchSpanProcessorOfInstalledSdk;
  const otel3 = 'logs' in otelApi;
  for (const id of otel3 ? [SDK_TRACE, SDK_TRACE_BASE] : [SDK_TRACE_BASE, SDK_TRACE]) {
    const Processor = (loadOptionalPeer(id) as TraceSdk | undefined)?.BatchSpanProcessor;
    if (typeof Processor !== 'function') continue;
    newBatchSpanProcessorOfInstalledSdk =
      id === SDK_TRACE_BASE
        ? (exporter, settings) => new Processor(exporter, settings)
        : (exporter, settings) => new Processor({ exporter, ...settings });
    return newBatchSpanProcessorOfInstalledSdk;
  }
  throw missingConfiguration(
    'trace SDK',
    `createGravitySpanProcessor needs an OpenTelemetry trace SDK and found neither ${SDK_TRACE} nor ${SDK_TRACE_BASE}: ` +
      `install ${otel3 ? `${SDK_TRACE} (OpenTelemetry JS 3.x)` : `${SDK_TRACE_BASE} (OpenTelemetry JS 2.x)`} beside gravity-otel-exporter`,
    `${SDK_TRACE} or ${SDK_TRACE_BASE} installed`,
  );
}
