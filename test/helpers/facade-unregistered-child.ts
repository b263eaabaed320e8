/**
 * Child process for the facade's "nowhere to send" report, which is once per process: facade calls with no
 * logger, no provider and nothing registered globally, then the same after a provider is registered through
 * the installed line's global Logs API. Prints what diag received and what reached the provider, as JSON.
 */
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { GravityAnalytics } from '../../src/index.js';
import { captureDiag } from './diag-capture.js';
import { globalLogs } from './otel-line.js';

// With CAPTURE_DIAG=1 a diag logger is registered, and the report goes there instead of stderr.
const diag = process.env['CAPTURE_DIAG'] === '1' ? captureDiag() : undefined;
const ge = new GravityAnalytics();
ge.track('user-1', 'dropped_track');
ge.userSet('user-1', { plan: 'dropped' });
new GravityAnalytics().track('user-2', 'dropped_by_another_facade');
let misuse = 'nothing thrown';
try {
  ge.track('', 'no_client_id');
} catch (error) {
  misuse = (error as Error).name;
}

const memory = new InMemoryLogRecordExporter();
globalLogs.setGlobalLoggerProvider(new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter: memory })] }));
ge.track('user-1', 'delivered_track');
await ge.flush();

process.stdout.write(
  `${JSON.stringify({
    diagWarnings: diag?.at('warn') ?? [],
    misuse,
    delivered: memory.getFinishedLogRecords().map((record) => record.eventName),
  })}\n`,
);
