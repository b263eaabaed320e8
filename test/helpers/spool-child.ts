/**
 * Child process for the spool crash test: exports argv[4] records (argv[5] clients) to argv[2] with spoolDir
 * argv[3], prints `spooled <n>` once they are all durably spooled, then idles until it is SIGKILLed.
 */
import { GravityLogRecordExporter } from '../../src/index.js';
import { createTrackRecord } from './record-builders.js';

const [url, spoolDir, countText, clientsText] = process.argv.slice(2);
const count = Number(countText);
const clients = Number(clientsText);
const exporter = new GravityLogRecordExporter({ url, accessToken: 'child-token', spoolDir, retry: { initialBackoffMillis: 10, maxBackoffMillis: 50 } });
const records = Array.from({ length: count }, (_, i) => createTrackRecord(`c${i % clients}`, { seq: i }));
for (let i = 0; i < records.length; i += 500) exporter.export(records.slice(i, i + 500), () => undefined);
const timer = setInterval(() => {
  if (exporter.getStats().spooled >= count) {
    process.stdout.write(`spooled ${exporter.getStats().spooled}\n`);
    clearInterval(timer);
    setInterval(() => undefined, 60_000); // stay alive: the parent kills us
  }
}, 10);
