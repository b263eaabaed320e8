/**
 * Quickstart (`npm start`): analytics through the OpenTelemetry Logs API into Gravity Engine.
 *
 * Without GE_SERVER_URL it starts the local Gravity emulator in-process (whatever GE_ACCESS_TOKEN says: demo
 * data never goes to a real project by accident), sends a few track events and every user-property
 * operation, and prints what the emulator received. With GE_SERVER_URL and GE_ACCESS_TOKEN set it reports to
 * that endpoint instead and prints the exporter's counters.
 *
 * `npm start -- --keep-open` leaves the emulator and its web console running afterwards (until Ctrl+C), so the
 * records can be looked at in a browser and other programs pointed at the same emulator.
 */
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { GravityLogRecordExporter } from 'gravity-otel-exporter';
import { startEmulator } from 'gravity-otel-exporter/emulator';
import type { Emulator } from 'gravity-otel-exporter/emulator';

const useEmulator = !process.env.GE_SERVER_URL;
const keepOpen = process.argv.includes('--keep-open');
const emulator: Emulator | undefined = useEmulator ? await startEmulator() : undefined;

const exporter = new GravityLogRecordExporter(
  emulator ? { url: emulator.url, accessToken: 'quickstart-token' } : {}, // else GE_SERVER_URL / GE_ACCESS_TOKEN
);
const provider = new LoggerProvider({ processors: [new BatchLogRecordProcessor({ exporter })] });
const logger = provider.getLogger('quickstart');

// Track events: the record's eventName is the Gravity event; body map and attributes are its properties.
logger.emit({
  eventName: 'purchase',
  attributes: { 'ge.client_id': 'user-42', amount: 30, 'item.sku': 'sword-01' },
  body: { cart: { items: 2, coupon: 'SPRING' } },
});
logger.emit({
  eventName: 'level_up',
  attributes: { 'ge.client_id': 'user-7', 'ge.client_ip': '203.0.113.9', level: 12 },
});

// User-property operations: ge.user_op picks the operation.
const user = { 'ge.client_id': 'user-42' };
logger.emit({ attributes: { ...user, 'ge.user_op': 'set', $name: 'Alice', plan: 'pro' } });
logger.emit({ attributes: { ...user, 'ge.user_op': 'set_once', first_channel: 'organic' } });
logger.emit({ attributes: { ...user, 'ge.user_op': 'increment', coins: 30 } });
logger.emit({ attributes: { ...user, 'ge.user_op': 'max', best_score: 980 } });
logger.emit({ attributes: { ...user, 'ge.user_op': 'min', fastest_lap_ms: 61234 } });
logger.emit({ attributes: { ...user, 'ge.user_op': 'append', badges: ['gold'] } });
logger.emit({ attributes: { ...user, 'ge.user_op': 'uniq_append', tags: ['vip', 'beta'] } });
logger.emit({ attributes: { ...user, 'ge.user_op': 'unset' }, body: ['first_channel'] });
logger.emit({ attributes: { 'ge.client_id': 'user-7', 'ge.user_op': 'delete' } });

// Not analytics (no ge.* attributes): ignored by the Gravity exporter, free for any other exporter.
logger.emit({ body: 'an ordinary log line', attributes: { 'http.route': '/checkout' } });

await provider.shutdown(); // flushes the processor and waits for every request

const stats = exporter.getStats();
if (emulator) {
  const rows = emulator.events().map((e) => ({
    client: e.client_id,
    type: e.type,
    event: e.event,
    properties: JSON.stringify(e.properties),
  }));
  console.log(`The local Gravity emulator at ${emulator.url} received ${rows.length} records:`);
  console.table(rows);
}
console.log(
  `sent ${stats.sent}, rejected ${stats.rejected}, ignored ${stats.ignored}, failed ${stats.failed} ` +
    `(of ${stats.received} log records)`,
);
process.exitCode = stats.failed === 0 && stats.rejected === 0 ? 0 : 1;

if (emulator && keepOpen) {
  console.log(`Web console: ${emulator.consoleUrl} (the emulator keeps running; Ctrl+C stops it)`);
  await new Promise((resolve) => process.once('SIGINT', resolve).once('SIGTERM', resolve));
} else if (emulator) {
  console.log('To look at these records in the emulator\'s web console: npm start -- --keep-open');
}
await emulator?.close();
