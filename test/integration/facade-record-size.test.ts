/**
 * The facade refuses at the call what the exporter would refuse at export: a record too large for one request.
 * Both sides of the limit are checked against the real exporter and the emulator, so the two cannot drift apart.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GravityAnalytics, GravityValidationError } from '../../src/index.js';
import { startExporterHarness } from '../helpers/exporter-harness.js';
import type { ExporterHarness } from '../helpers/exporter-harness.js';

let harness: ExporterHarness;
let ge: GravityAnalytics;

before(async () => {
  harness = await startExporterHarness();
  ge = new GravityAnalytics({ loggerProvider: harness.provider });
});

after(() => harness.close());

function isTooLarge(field: string, where: string) {
  return (error: unknown): boolean =>
    error instanceof GravityValidationError &&
    error.field === field &&
    error.reason === 'record_too_large' &&
    error.message.startsWith(`${where}: ${field}: `);
}

/** Whether the facade accepts a track call whose `note` property is `length` characters long. */
function facadeAccepts(length: number): boolean {
  try {
    ge.track('size-user', 'sized', { note: 'n'.repeat(length), small: 1 });
    return true;
  } catch (error) {
    assert.ok(isTooLarge('note', 'track')(error), String(error));
    return false;
  }
}

describe('GravityAnalytics: record size', () => {
  it('throws at the call for a 5 MB property, naming it; nothing is emitted', async () => {
    const before = harness.exporter.getStats().received;
    assert.throws(() => ge.track('u1', 'upload', { file: 'x'.repeat(5_000_000), name: 'a.bin' }), isTooLarge('file', 'track'));
    assert.throws(() => ge.userSet('u1', { profile: { bio: 'y'.repeat(5_000_000) } }), isTooLarge('profile.bio', 'userSet'));
    assert.throws(() => ge.userAppend('u1', { tags: ['t', 'z'.repeat(5_000_000)] }), isTooLarge('tags[1]', 'userAppend'));
    await harness.flush();
    assert.equal(harness.exporter.getStats().received, before);
  });

  it('counts super properties in the size', () => {
    const withSuper = new GravityAnalytics({ loggerProvider: harness.provider, superProperties: { blob: 's'.repeat(1_100_000) } });
    assert.throws(() => withSuper.track('u1', 'e', { n: 1 }), isTooLarge('blob', 'track'));
  });

  it('holds records to exactly the limit the exporter applies: the largest it lets through is delivered', async () => {
    // The longest `note` the facade accepts, found by bisection between a size that fits and one that does not.
    let fits = 900_000;
    let tooLong = 1_100_000;
    assert.ok(facadeAccepts(fits) && !facadeAccepts(tooLong));
    while (tooLong - fits > 1) {
      const middle = Math.floor((fits + tooLong) / 2);
      if (facadeAccepts(middle)) fits = middle;
      else tooLong = middle;
    }
    // The bisection emitted what it let through: those are delivered (and forgotten) first.
    await harness.flush();
    harness.emulator.clear();
    const before = harness.exporter.getStats();
    assert.equal(before.rejectedByReason['record_too_large'] ?? 0, 0, 'the exporter took every record the facade let through');
    ge.track('size-user', 'sized', { note: 'n'.repeat(fits), small: 1 });
    // One character more, emitted past the facade straight to the exporter: the exporter rejects it.
    harness.logger.emit({ eventName: 'sized', attributes: { 'ge.client_id': 'size-user' }, body: { note: 'n'.repeat(tooLong), small: 1 } });
    await harness.flush();
    const after = harness.exporter.getStats();
    assert.equal(after.sent - before.sent, 1);
    assert.equal((after.rejectedByReason['record_too_large'] ?? 0) - (before.rejectedByReason['record_too_large'] ?? 0), 1);
    assert.equal((harness.emulator.events()[0]?.properties['note'] as string).length, fits);
  });
});
