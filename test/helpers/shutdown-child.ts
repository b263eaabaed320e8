/**
 * Child process for the exit test: exports to the URL in argv[2] (an endpoint that never answers), shuts the
 * exporter down, prints `shutdown-resolved <epoch ms>` and then must exit on its own: no timer or socket of
 * the exporter may keep it alive.
 */
import { GravityLogRecordExporter } from '../../src/index.js';
import { createTrackRecord } from './record-builders.js';

const url = process.argv[2];
if (url === undefined) throw new Error('usage: shutdown-child.ts <collect url>');
const exporter = new GravityLogRecordExporter({ url, accessToken: 'child-token', timeoutMillis: 60_000, exportDeadlineMillis: 1_000 });
exporter.export([createTrackRecord('u1'), createTrackRecord('u2')], (result) => {
  process.stdout.write(`export-result ${result.code}\n`);
});
setTimeout(() => {
  void exporter.shutdown().then(() => {
    process.stdout.write(`shutdown-resolved ${Date.now()} ${JSON.stringify(exporter.getStats())}\n`);
  });
}, 200);
