/**
 * examples/node-sdk.ts and examples/serverless.ts run as a user would run them, each against the emulator it
 * starts in-process, and deliver what they say.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runExample } from '../helpers/run-example.js';

describe('NodeSDK and serverless examples', () => {
  it('examples/node-sdk.ts sends facade calls through the global provider and span events to Gravity, and everything to OTLP', async () => {
    const stdout = await runExample('examples/node-sdk.ts');

    assert.match(stdout, /^Gravity: 3 log records and 1 span events sent, 0 failed$/m);
    assert.match(stdout, /^OTLP receiver: 3 log records, 1 spans$/m);
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
