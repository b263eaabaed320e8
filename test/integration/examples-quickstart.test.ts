/** examples/quickstart.ts is what `npm start` runs: it must deliver every record it emits and print them. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PROFILE_EVENT_NAMES } from '../../src/mapping/rules.js';
import { runExample } from '../helpers/run-example.js';

describe('quickstart example (npm start)', () => {
  it('sends track events and every user operation to its emulator and prints what arrived', async () => {
    const stdout = await runExample('examples/quickstart.ts');

    assert.match(stdout, /received 11 records:/);
    for (const event of ['purchase', 'level_up', ...PROFILE_EVENT_NAMES]) {
      assert.match(stdout, new RegExp(`'${event}'`), `the table lists ${event}`);
    }
    assert.match(stdout, /"item_sku":"sword-01"/);
    assert.match(stdout, /^sent 11, rejected 0, ignored 1, failed 0 \(of 12 log records\)$/m);
  });

  it('uses its emulator when only GE_ACCESS_TOKEN is set: demo data never goes to a real project by accident', async () => {
    const stdout = await runExample('examples/quickstart.ts', { GE_ACCESS_TOKEN: 'a-real-looking-token' });
    assert.match(stdout, /received 11 records:/);
  });
});
