/**
 * Child process: exports one record to argv[2], which answers the first request 503 with Retry-After: 1, and
 * awaits shutdown as the last line of a script does. While the retry waits, only unref'd timers are pending:
 * the process must still wait for shutdown and print `shutdown-resolved <stats>`.
 */
import { GravityLogRecordExporter } from '../../src/index.js';
import { createTrackRecord } from './record-builders.js';

const url = process.argv[2];
if (url === undefined) throw new Error('usage: shutdown-backoff-child.ts <collect url>');
const exporter = new GravityLogRecordExporter({ url, accessToken: 'child-token', exportDeadlineMillis: 5_000 });
exporter.export([createTrackRecord('u1')], (result) => {
  process.stdout.write(`export-result ${result.code}\n`);
});
await exporter.shutdown();
process.stdout.write(`shutdown-resolved ${JSON.stringify(exporter.getStats())}\n`);
