/**
 * examples/node-sdk.ts and examples/serverless.ts run as a user would run them, each against the emulator it
 * starts in-process, and deliver what they say.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function runExample(file: string): Promise<string> {
  // The examples import 'gravity-otel-exporter', which resolves to dist/: `npm test` builds first.
  assert.ok(existsSync('dist/esm/index.js'), 'dist/ is missing: run `npm run build` before these tests');
  const env = { ...process.env };
  delete env['GE_SERVER_URL'];
  delete env['GE_ACCESS_TOKEN'];
  const { stdout } = await run(process.execPath, ['--import', 'tsx', file], { env, timeout: 60_000 });
  return stdout;
}

describe('NodeSDK and serverless examples', () => {
  it('examples/node-sdk.ts sends log records, facade calls and span events to Gravity and everything to OTLP', async () => {
    const stdout = await runExample('examples/node-sdk.ts');

    assert.match(stdout, /^Gravity: 3 log records and 1 span events sent, 0 failed$/m);
    assert.match(stdout, /^OTLP receiver: 4 log records, 1 spans$/m);
    assert.match(stdout, /^user-42 track purchase \{.*"amount":30,"item":"sword"\}$/m);
    assert.match(stdout, /^user-42 profile profile_increment \{"total_revenue":30\}$/m);
    assert.match(stdout, /^user-42 profile profile_set \{"plan":"pro","upgraded_at":"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.000"\}$/m);
    assert.match(stdout, /^user-42 track checkout_done \{.*"items":2\}$/m);
  });

  it('examples/serverless.ts has every invocation\'s records delivered before the handler returns', async () => {
    const stdout = await runExample('examples/serverless.ts');

    assert.match(stdout, /^invocation 1: status 200, 2 records delivered so far$/m);
    assert.match(stdout, /^invocation 2: status 200, 4 records delivered so far$/m);
    assert.match(stdout, /^invocation 3: status 200, 6 records delivered so far$/m);
    assert.match(stdout, /^user-2 track purchase \{.*"amount":20\}$/m);
    assert.match(stdout, /^user-1 profile profile_increment \{"total_spent":5\}$/m);
  });
});
