import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runExample } from '../helpers/run-example.js';

describe('span examples', () => {
  it('examples/span-events.ts delivers the analytics span events to the emulator and exits 0', async () => {
    const stdout = await runExample('examples/span-events.ts');

    assert.match(stdout, /span events: 5 received, 1 ignored, 0 rejected, 4 sent/);
    assert.match(stdout, /^user-42 track purchase \{.*"trace_id":"[0-9a-f]{32}","span_id":"[0-9a-f]{16}","amount":30,"item":"sword"\}$/m);
    assert.match(stdout, /^user-42 profile profile_set \{"plan":"pro"\}$/m);
    assert.match(stdout, /^user-42 profile profile_increment \{"coins":30\}$/m);
    assert.match(stdout, /^user-43 track signup \{.*"channel":"ads"\}$/m);
  });

  it('examples/with-otlp.ts exports to the OTLP receiver and to Gravity from the same tracer and logger', async () => {
    const stdout = await runExample('examples/with-otlp.ts');

    const otlp = /OTLP receiver: (\d+) requests on \/v1\/traces, (\d+) on \/v1\/logs/.exec(stdout);
    assert.ok(otlp, stdout);
    assert.ok(Number(otlp[1]) >= 1 && Number(otlp[2]) >= 1, stdout);
    assert.match(stdout, /Gravity: 3 span events and 3 log records sent/);
    for (const user of ['user-0', 'user-1', 'user-2']) {
      assert.match(stdout, new RegExp(`^${user} track purchase `, 'm'));
      assert.match(stdout, new RegExp(`^${user} track checkout_done `, 'm'));
    }
  });
});
