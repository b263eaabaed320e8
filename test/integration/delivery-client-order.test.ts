/**
 * A client's records arrive in the order they were exported, across exports too: exports that overlap (a span
 * exporter flushed concurrently, an export retrying while the next one starts) queue each client's batches in
 * one lane, so a later export's batch waits while an earlier one is retried. User-property operations
 * (`set` then `unset`) depend on it.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ExportResultCode } from '@opentelemetry/core';
import { startEmulator } from '../../src/emulator/index.js';
import type { Emulator } from '../../src/emulator/index.js';
import { GravityLogRecordExporter } from '../../src/index.js';
import { exportOnce } from '../helpers/export-once.js';
import { createTrackRecord, createUserOpRecord } from '../helpers/record-builders.js';

let emulator: Emulator | undefined;
let exporter: GravityLogRecordExporter | undefined;

afterEach(async () => {
  await exporter?.shutdown();
  await emulator?.close();
  exporter = undefined;
  emulator = undefined;
});

describe('per-client order across exports', () => {
  it('a later export of the same client waits while an earlier one is retried', async () => {
    emulator = await startEmulator();
    exporter = new GravityLogRecordExporter({
      url: emulator.url,
      accessToken: 't',
      retry: { initialBackoffMillis: 100, maxBackoffMillis: 100 },
    });
    // The first request (export 1, user-1's set) fails; exports 2 and 3 are handed over during its backoff.
    emulator.enqueueFaults({ kind: 'status', status: 503 });
    const first = exportOnce(exporter, [createUserOpRecord('user-1', 'set', { plan: 'pro' })]);
    await emulator.waitForRequests(1);
    const second = exportOnce(exporter, [createUserOpRecord('user-1', 'unset', ['plan']), createTrackRecord('user-2', { n: 1 })]);
    const third = exportOnce(exporter, [createTrackRecord('user-1', { n: 2 })]);
    const results = await Promise.all([first, second, third]);

    for (const { result } of results) assert.equal(result.code, ExportResultCode.SUCCESS);
    const user1 = emulator.events().filter((e) => e.client_id === 'user-1').map((e) => (e.type === 'track' ? 'track' : e.event));
    assert.deepEqual(user1, ['profile_set', 'profile_unset', 'track']);
    // Other clients are not held up by user-1's retries.
    const user2Seq = emulator.events().find((e) => e.client_id === 'user-2')!.requestSeq;
    const user1SetSeq = emulator.events().find((e) => e.client_id === 'user-1')!.requestSeq;
    assert.ok(user2Seq < user1SetSeq, 'user-2 was sent while user-1 waited for its retry');
  });
});
