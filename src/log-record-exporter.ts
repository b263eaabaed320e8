import type { ExportResult } from '@opentelemetry/core';
import type { LogRecordExporter, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { resolveConfig } from './config.js';
import { createExportPipeline } from './export-pipeline.js';
import type { ExportPipeline } from './export-pipeline.js';
import { mapLogRecord } from './mapping/map-log-record.js';
import { registerSelfMetrics } from './metrics.js';
import type { GravityExporterOptions } from './options.js';
import type { GravityExporterStats } from './stats.js';

/**
 * Sends the log records that carry `ge.client_id` to Gravity Engine as track events or user-property
 * operations; every other record is ignored. Records of one client (and client ip / ua) share a request.
 * An invalid record is rejected alone (reported through `diag` and counted), never the batch.
 *
 * @throws {GravityConfigurationError} when no access token is configured (option, `GE_ACCESS_TOKEN`, or URL).
 * @throws {TypeError | RangeError} for an invalid option value.
 *
 * @example
 * ```ts
 * import { LoggerProvider, BatchLogRecordProcessor } from '@opentelemetry/sdk-logs';
 * import { GravityLogRecordExporter } from 'gravity-otel-exporter';
 *
 * const provider = new LoggerProvider({
 *   processors: [new BatchLogRecordProcessor({ exporter: new GravityLogRecordExporter() })], // token from GE_ACCESS_TOKEN
 * });
 * provider.getLogger('shop').emit({
 *   eventName: 'purchase',
 *   attributes: { 'ge.client_id': 'user-42', amount: 30 },
 * });
 * await provider.shutdown();
 * ```
 */
export class GravityLogRecordExporter implements LogRecordExporter {
  private readonly _pipeline: ExportPipeline;

  constructor(options: GravityExporterOptions = {}) {
    this._pipeline = createExportPipeline(resolveConfig(options));
    registerSelfMetrics(options.meterProvider, 'logs', () => this._pipeline.getStats());
  }

  export(logs: ReadableLogRecord[], resultCallback: (result: ExportResult) => void): void {
    this._pipeline.export(logs, mapLogRecord, resultCallback);
  }

  /** Waits for every request started so far. */
  forceFlush(): Promise<void> {
    return this._pipeline.forceFlush();
  }

  /** Waits for what is in flight, then closes connections. Idempotent; later exports fail at once. */
  shutdown(): Promise<void> {
    return this._pipeline.shutdown();
  }

  /** Counters of received, ignored, rejected (per reason), sent and failed records. */
  getStats(): GravityExporterStats {
    return this._pipeline.getStats();
  }
}
