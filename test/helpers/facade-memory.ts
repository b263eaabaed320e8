import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { GravityAnalytics } from '../../src/index.js';

/** A facade over a real LoggerProvider whose records land in memory, as emitted. */
export interface FacadeOverMemory {
  readonly ge: GravityAnalytics;
  readonly provider: LoggerProvider;
  records(): ReadableLogRecord[];
}

export function createFacadeOverMemory(): FacadeOverMemory {
  const memory = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter: memory })] });
  return { ge: new GravityAnalytics({ loggerProvider: provider }), provider, records: () => memory.getFinishedLogRecords() };
}
