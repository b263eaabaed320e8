/** examples/quickstart.ts is what `npm start` runs: it must deliver every record it emits and print them. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runExample } from '../helpers/run-example.js';

describe('quickstart example (npm start)', () => {
  it('sends track events and every user operation to its emulator and prints what arrived', async () => {
    const stdout = await runExample('examples/quickstart.ts');

    assert.match(stdout, /received 11 records:/);
    for (const event of [
      'purchase',
      'level_up',
      'profile_set',
      'profile_set_once',
      'profile_increment',
      'profile_number_max',
      'profile_number_min',
      'profile_append',
      'profile_uniq_append',
      'profile_unset',
      'profile_delete',
    ]) {
      assert.match(stdout, new RegExp(`'${event}'`), `the table lists ${event}`);
    }
    assert.match(stdout, /"item_sku":"sword-01"/);
    assert.match(stdout, /^sent 11, rejected 0, ignored 1, failed 0 \(of 12 log records\)$/m);
  });
});
