/**
 * Exporter-level super properties (`superProperties`, `dynamicSuperProperties`) on records emitted without
 * the facade, and how they combine with the facade's own, through the real provider to the emulator.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { GravityAnalytics, GravityConfigurationError, GravityLogRecordExporter } from '../../src/index.js';
import { startExporterHarness } from '../helpers/exporter-harness.js';
import type { ExporterHarness } from '../helpers/exporter-harness.js';

let harness: ExporterHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe('exporter super properties', () => {
  it('adds static and dynamic super properties to track records; the record wins, user operations get none', async () => {
    let calls = 0;
    harness = await startExporterHarness({
      exporter: {
        superProperties: { app: 'shop', tier: 'static', day: new Date(2024, 0, 2) },
        dynamicSuperProperties: () => ({ tier: 'dynamic', call: ++calls }),
      },
    });

    harness.logger.emit({ eventName: 'purchase', attributes: { 'ge.client_id': 'u1', app: 'own' } });
    harness.logger.emit({ attributes: { 'ge.client_id': 'u1', 'ge.user_op': 'set', plan: 'pro' } });
    await harness.flush();

    const [track, set] = harness.emulator.events();
    assert.deepEqual(track!.properties, {
      $lib: 'node',
      $lib_version: track!.properties['$lib_version'],
      app: 'own',
      tier: 'dynamic',
      day: '2024-01-02 00:00:00.000',
      call: 1,
    });
    assert.deepEqual(set!.properties, { plan: 'pro' });
    assert.equal(calls, 1, 'called once per track record only');
  });

  it('rejects only the record whose dynamic super properties threw, and counts it', async () => {
    let fail = true;
    harness = await startExporterHarness({
      exporter: {
        dynamicSuperProperties: () => {
          if (fail) {
            fail = false;
            throw new Error('session store down');
          }
          return { ok: true };
        },
      },
    });

    harness.logger.emit({ eventName: 'first', attributes: { 'ge.client_id': 'u1' } });
    harness.logger.emit({ eventName: 'second', attributes: { 'ge.client_id': 'u1' } });
    await harness.flush();

    assert.deepEqual(harness.emulator.events().map((e) => [e.event, e.properties['ok']]), [['second', true]]);
    const stats = harness.exporter.getStats();
    assert.equal(stats.rejected, 1);
    assert.equal(stats.rejectedByReason.invalid_value, 1);
  });

  it("the facade's super properties and the call's win over the exporter's", async () => {
    harness = await startExporterHarness({ exporter: { superProperties: { source: 'exporter', app: 'shop' } } });
    const ge = new GravityAnalytics({ loggerProvider: harness.provider, superProperties: { source: 'facade' } });

    ge.track('u1', 'opened', { screen: 'home' });
    await ge.flush();

    const { $lib, $lib_version, ...properties } = harness.emulator.events()[0]!.properties;
    assert.deepEqual(properties, { source: 'facade', app: 'shop', screen: 'home' });
  });

  it('throws at construction for a super property key that does not fit, or a non-function dynamic option', () => {
    assert.throws(
      () => new GravityLogRecordExporter({ accessToken: 'token-1234', superProperties: { 'bad key': 1 } }),
      (error: unknown) => error instanceof TypeError && error instanceof GravityConfigurationError && /superProperties is invalid.*bad key/.test(error.message),
    );
    assert.throws(
      () => new GravityLogRecordExporter({ accessToken: 'token-1234', dynamicSuperProperties: 'x' as unknown as () => Record<string, never> }),
      (error: unknown) => error instanceof TypeError && error instanceof GravityConfigurationError && /dynamicSuperProperties is invalid/.test(error.message),
    );
  });
});
