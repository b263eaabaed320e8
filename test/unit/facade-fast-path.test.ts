/**
 * GravityAnalytics's common calls skip the mapping: what they emit must be exactly what the mapping
 * path emitted, a copy of the caller's properties, and misuse must still throw the same typed errors.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { formatGravityDate, GravityValidationError } from '../../src/index.js';
import type { GravityAnalytics } from '../../src/index.js';
import { createFacadeOverMemory } from '../helpers/facade-memory.js';
import type { FacadeOverMemory } from '../helpers/facade-memory.js';

let facade: FacadeOverMemory;
let ge: GravityAnalytics;

beforeEach(() => {
  facade = createFacadeOverMemory();
  ge = facade.ge;
});
afterEach(() => facade.provider.shutdown());

function bodies(): unknown[] {
  return facade.records().map((r) => r.body);
}

describe('GravityAnalytics common-call path', () => {
  it('emits a copy: changing the properties object after track does not change the emitted record', () => {
    const properties: Record<string, string | number | boolean> = { amount: 30, item: 'sword' };
    ge.track('user-1', 'purchase', properties);
    properties.amount = 99;
    properties.extra = true;
    assert.deepEqual(bodies(), [{ amount: 30, item: 'sword' }]);
  });

  it('stores a copy of super properties down to their leaves: later changes to a nested object do not reach them', () => {
    const device = { os: 'ios', screen: { width: 1080 } };
    ge.setSuperProperties({ device });
    device.os = 'android';
    device.screen.width = Number.NaN;
    ge.track('user-1', 'open');
    assert.deepEqual(bodies(), [{ device: { os: 'ios', screen: { width: 1080 } } }]);
  });

  it('emits the same bodies as the mapping path for clean and normalised calls alike', () => {
    const when = new Date(2024, 0, 2, 3, 4, 5, 6);
    ge.setSuperProperties({ app: 'shop' });
    ge.track('user-1', 'purchase', { amount: 30, tags: ['a'], nested: { n: 1 } });
    ge.track('user-1', 'purchase', { at: when, 'http.route': '/buy', gone: undefined });
    ge.userSet('user-1', { plan: 'pro', seen: when });
    ge.userIncrement('user-1', { coins: 5 });
    ge.userAppend('user-1', { badges: ['gold'] });
    assert.deepEqual(bodies(), [
      { app: 'shop', amount: 30, tags: ['a'], nested: { n: 1 } },
      { app: 'shop', at: formatGravityDate(when), http_route: '/buy' },
      { plan: 'pro', seen: formatGravityDate(when) },
      { coins: 5 },
      { badges: ['gold'] },
    ]);
  });

  it('still throws the typed error naming the field for a bad key, a NaN and a non-numeric increment', () => {
    const field = (act: () => void): string => {
      try {
        act();
      } catch (error) {
        assert.ok(error instanceof GravityValidationError);
        return error.field;
      }
      throw new Error('did not throw');
    };
    assert.equal(field(() => ge.track('user-1', 'purchase', { 'bad key': 1 })), 'bad key');
    assert.equal(field(() => ge.track('user-1', 'purchase', { deep: { n: Number.NaN } })), 'deep.n');
    assert.equal(field(() => ge.userIncrement('user-1', { coins: '5' as unknown as number })), 'coins');
    assert.equal(field(() => ge.track(' ', 'purchase', {})), 'clientId');
    assert.deepEqual(bodies(), []);
  });
});
