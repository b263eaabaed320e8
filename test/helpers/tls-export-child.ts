/**
 * Child process for the TLS test: exports one record to the https URL in argv[2] and prints
 * `export-result <code> <error message>`. Certificates it trusts are the process's own (the test starts it
 * with NODE_EXTRA_CA_CERTS, which Node reads only at start-up).
 */
import { GravityLogRecordExporter } from '../../src/index.js';
import { createTrackRecord } from './record-builders.js';

const url = process.argv[2];
if (url === undefined) throw new Error('usage: tls-export-child.ts <https collect url>');
const exporter = new GravityLogRecordExporter({ url, accessToken: 'child-token', retry: { maxAttempts: 1 } });
exporter.export([createTrackRecord('tls-user')], (result) => {
  process.stdout.write(`export-result ${result.code} ${result.error?.message ?? ''}\n`);
  void exporter.shutdown();
});
