/** Calls `exporter.export` directly and observes its result callback(s). */
import type { ExportResult } from '@opentelemetry/core';
import type { LogRecordExporter, ReadableLogRecord } from '@opentelemetry/sdk-logs';

export interface ExportObservation {
  /** The first result. */
  readonly result: ExportResult;
  /** Every result received so far (read it after `forceFlush` to check there was exactly one). */
  readonly results: readonly ExportResult[];
}

/** Resolves with the first result; keeps counting later (erroneous) callbacks in `results`. */
export function exportOnce(exporter: LogRecordExporter, records: ReadableLogRecord[]): Promise<ExportObservation> {
  const results: ExportResult[] = [];
  return new Promise((resolve) => {
    exporter.export(records, (result) => {
      results.push(result);
      if (results.length === 1) resolve({ result, results });
    });
  });
}
