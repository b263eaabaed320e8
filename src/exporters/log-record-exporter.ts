import type { ExportResult } from '@opentelemetry/core';
import type { LogRecordExporter, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { GravityExporterBase } from './exporter-base.js';
import { mapLogRecord } from '../mapping/map-log-record.js';
import type { GravityExporterOptions } from '../config/options.js';

/**
 * Sends the log records that carry `ge.client_id` to Gravity Engine as track events or user-property
 * operations; every other record is ignored. Records of one client (and client ip / ua) share a request.
 * An invalid record is rejected alone (reported through `diag` and counted), never the batch.
 *
 * @throws {GravityConfigurationError} when no access token is configured (option, `GE_ACCESS_TOKEN`, or URL), for
 * an invalid option value (then also a `TypeError` or `RangeError`), and for a `GE_SERVER_URL` or `GE_DEBUG`
 * that is set but invalid. Nothing is sent then.
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
export class GravityLogRecordExporter extends GravityExporterBase implements LogRecordExporter {
  constructor(options: GravityExporterOptions = {}) {
    super(options, 'logs');
  }

  export(logs: ReadableLogRecord[], resultCallback: (result: ExportResult) => void): void {
    this._pipeline.export(logs, mapLogRecord, resultCallback);
  }
}
