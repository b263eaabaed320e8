/**
 * Picks the default of `maxConcurrentRequests`: 20,000 records across 1,000 clients (one request each) against
 * the emulator answering after 20 ms, for several pool sizes. Prints records/s per setting.
 *
 *   node --import tsx soak/concurrency.ts [8,16,32,64,128]
 */
import { startEmulator } from '../src/emulator/index.js';
import { GravityLogRecordExporter } from '../src/index.js';
import { createTrackRecord } from '../test/helpers/record-builders.js';

async function measure(maxConcurrentRequests: number): Promise<{ maxConcurrentRequests: number; recordsPerSecond: number; millis: number }> {
  const emulator = await startEmulator({ responseDelayMillis: 20 });
  const exporter = new GravityLogRecordExporter({ url: emulator.url, accessToken: 'bench', maxConcurrentRequests });
  const records = Array.from({ length: 20_000 }, (_, i) => createTrackRecord(`client-${i % 1000}`, { seq: i }));
  const startMillis = performance.now();
  // Exports of 2,000 records (about what a batch processor hands over in a few rounds), one at a time.
  for (let i = 0; i < records.length; i += 2_000) {
    await new Promise<void>((resolve) => exporter.export(records.slice(i, i + 2_000), () => resolve()));
  }
  const millis = performance.now() - startMillis;
  const sent = exporter.getStats().sent;
  await exporter.shutdown();
  await emulator.close();
  if (sent !== records.length) throw new Error(`only ${sent} records were sent`);
  return { maxConcurrentRequests, recordsPerSecond: Math.round((records.length / millis) * 1000), millis: Math.round(millis) };
}

const settings = (process.argv[2] ?? '8,16,32,64,128').split(',').map(Number);
void (async () => {
  await measure(16); // warm-up (JIT, zlib)
  for (const n of settings) process.stdout.write(`${JSON.stringify(await measure(n))}\n`);
})();
