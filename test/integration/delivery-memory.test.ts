/**
 * The memory cap while the endpoint hangs (scaled down from `npm run soak`'s stalled run): records
 * beyond `maxBufferedRecords` are dropped oldest first, counted and reported at once, including batches that
 * no request was ever started for, and `buffered` never exceeds the cap.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ExportResultCode } from '@opentelemetry/core';
import { startEmulator } from '../../src/emulator/index.js';
import type { Emulator } from '../../src/emulator/index.js';
import { GravityLogRecordExporter } from '../../src/index.js';
import { captureDiag } from '../helpers/diag-capture.js';
import type { DiagCapture } from '../helpers/diag-capture.js';
import { exportOnce } from '../helpers/export-once.js';
import type { ExportObservation } from '../helpers/export-once.js';
import { createTrackRecord } from '../helpers/record-builders.js';

const EXPORTS = 30;
const CLIENTS_PER_EXPORT = 10;
const CAP = 20;

let emulator: Emulator | undefined;
let exporter: GravityLogRecordExporter | undefined;
let diagCapture: DiagCapture | undefined;

afterEach(async () => {
  await exporter?.shutdown();
  await emulator?.close();
  diagCapture?.stop();
  exporter = undefined;
  emulator = undefined;
  diagCapture = undefined;
});

describe('delivery memory while the endpoint hangs', () => {
  it('drops the oldest records beyond maxBufferedRecords at once, even those never started, and never holds more', { timeout: 30_000 }, async () => {
    diagCapture = captureDiag();
    emulator = await startEmulator();
    emulator.setRandomFaults({ rate: 1, faults: [{ kind: 'hang' }] });
    // One connection, so almost every batch waits; deadlines far away, so only the cap can end the waits.
    exporter = new GravityLogRecordExporter({
      url: emulator.url,
      accessToken: 't',
      maxBufferedRecords: CAP,
      maxConcurrentRequests: 1,
      timeoutMillis: 60_000,
      exportDeadlineMillis: 60_000,
      retry: { initialBackoffMillis: 10, maxBackoffMillis: 40 },
    });
    const exports: Array<Promise<ExportObservation>> = [];
    let bufferedPeak = 0;
    for (let e = 0; e < EXPORTS; e++) {
      const records = Array.from({ length: CLIENTS_PER_EXPORT }, (_, c) => createTrackRecord(`client-${c}`, { export: e }));
      exports.push(exportOnce(exporter, records));
      // Exports come from separate turns of the event loop (processor timers): sample after each turn.
      await new Promise((resolve) => setImmediate(resolve));
      bufferedPeak = Math.max(bufferedPeak, exporter.getStats().buffered);
    }
    await emulator.waitForRequests(1);

    // The first request hangs on the wire; the newest CAP - 1 records stay; everything between was dropped.
    const middle = await Promise.all(exports.slice(1, EXPORTS - 2));
    for (const { result } of middle) {
      assert.equal(result.code, ExportResultCode.FAILED);
      assert.match(String(result.error?.message), /dropped unsent/);
    }
    const stats = exporter.getStats();
    assert.equal(stats.dropped, EXPORTS * CLIENTS_PER_EXPORT - CAP);
    assert.equal(stats.buffered, CAP);
    assert.ok(bufferedPeak <= CAP, `buffered reached ${bufferedPeak}`);
    assert.equal(emulator.requests.length, 1);
    assert.ok(diagCapture.at('warn').some((line) => /maxBufferedRecords/.test(line)));

    // Once the endpoint answers again, what was kept is delivered, and every export has its result.
    emulator.setRandomFaults(null);
    await emulator.setDown(true);
    await emulator.setDown(false);
    const all = await Promise.all(exports);
    assert.equal(all.length, EXPORTS);
    const after = exporter.getStats();
    assert.equal(after.sent, CAP);
    assert.equal(after.sent + after.dropped, EXPORTS * CLIENTS_PER_EXPORT);
    assert.equal(after.buffered, 0);
    const kept = emulator.events().map((event) => `${String(event.properties['export'])}/${event.client_id}`);
    const expected = ['0/client-0', ...Array.from({ length: 9 }, (_, c) => `28/client-${c + 1}`), ...Array.from({ length: 10 }, (_, c) => `29/client-${c}`)];
    assert.deepEqual(kept.sort(), expected.sort());
  });
});
