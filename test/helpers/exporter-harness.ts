/**
 * The real pipeline under test: `LoggerProvider` + `BatchLogRecordProcessor` + `GravityLogRecordExporter`
 * pointed at a local emulator on 127.0.0.1 port 0.
 */
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { startEmulator } from '../../src/emulator/index.js';
import type { Emulator, EmulatorOptions } from '../../src/emulator/index.js';
import { GravityLogRecordExporter } from '../../src/index.js';
import type { GravityExporterOptions } from '../../src/index.js';
import type { Logger } from './otel-line.js';

/** Access token the harness configures unless the test gives one. */
export const TEST_ACCESS_TOKEN = 'harness-test-token';

export interface ExporterHarnessOptions {
  emulator?: EmulatorOptions;
  /** Merged over `{ url: emulator.url, accessToken: TEST_ACCESS_TOKEN }`. */
  exporter?: GravityExporterOptions;
  /** Options of the batch processor (defaults otherwise). */
  processor?: { maxExportBatchSize?: number; maxQueueSize?: number; scheduledDelayMillis?: number };
}

export interface ExporterHarness {
  readonly emulator: Emulator;
  readonly exporter: GravityLogRecordExporter;
  readonly provider: LoggerProvider;
  readonly logger: Logger;
  /** `provider.forceFlush()`: everything emitted so far has been exported and answered. */
  flush(): Promise<void>;
  /** Shuts the provider down (idempotent) and closes the emulator. */
  close(): Promise<void>;
}

export async function startExporterHarness(options: ExporterHarnessOptions = {}): Promise<ExporterHarness> {
  const emulator = await startEmulator(options.emulator);
  let exporter: GravityLogRecordExporter;
  try {
    exporter = new GravityLogRecordExporter({ url: emulator.url, accessToken: TEST_ACCESS_TOKEN, ...options.exporter });
  } catch (error) {
    await emulator.close();
    throw error;
  }
  const provider = new LoggerProvider({
    processors: [new BatchLogRecordProcessor({ exporter, ...options.processor })],
  });
  let closed: Promise<void> | undefined;
  return {
    emulator,
    exporter,
    provider,
    logger: provider.getLogger('gravity-test'),
    flush: () => provider.forceFlush(),
    close: () =>
      (closed ??= (async () => {
        try {
          await provider.shutdown();
        } finally {
          await emulator.close();
        }
      })()),
  };
}
