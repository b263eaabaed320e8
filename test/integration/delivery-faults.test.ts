/**
 * Delivery under injected faults, through the real LoggerProvider + BatchLogRecordProcessor and HTTP
 * against the emulator. Backoffs are configured to tens of milliseconds; nothing waits seconds.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ExportResultCode } from '@opentelemetry/core';
import type { GravityExporterOptions } from '../../src/index.js';
import { captureDiag } from '../helpers/diag-capture.js';
import type { DiagCapture } from '../helpers/diag-capture.js';
import { exportOnce } from '../helpers/export-once.js';
import { startExporterHarness } from '../helpers/exporter-harness.js';
import type { ExporterHarness, ExporterHarnessOptions } from '../helpers/exporter-harness.js';
import { createTrackRecord } from '../helpers/record-builders.js';

const FAST_RETRY: GravityExporterOptions = {
  retry: { initialBackoffMillis: 10, maxBackoffMillis: 40 },
  exportDeadlineMillis: 10_000,
};

let harness: ExporterHarness | undefined;
let diagCapture: DiagCapture | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
  diagCapture?.stop();
  diagCapture = undefined;
});

async function start(options: ExporterHarnessOptions = {}): Promise<ExporterHarness> {
  harness = await startExporterHarness({ ...options, exporter: { ...FAST_RETRY, ...options.exporter } });
  return harness;
}

function emitTrack(h: ExporterHarness, clientId: string, count: number): void {
  for (let i = 0; i < count; i++) h.logger.emit({ eventName: 'purchase', attributes: { 'ge.client_id': clientId, n: i } });
}

/** Polls `condition` every few milliseconds (for conditions with no event to await); fails after `timeoutMillis`. */
async function until(condition: () => boolean, timeoutMillis = 10_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMillis) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('delivery under faults', () => {
  it('retries a connection reset before processing and delivers each record once', async () => {
    const h = await start();
    h.emulator.enqueueFaults({ kind: 'reset', when: 'before' }, { kind: 'reset', when: 'before' });
    emitTrack(h, 'u1', 3);
    await h.flush();
    assert.deepEqual(h.emulator.events().map((e) => e.properties['n']), [0, 1, 2]);
    assert.equal(h.emulator.requests.length, 3);
    assert.equal(h.exporter.getStats().retried, 6);
  });

  it('delivers after a reset that came after processing, at least once (the one allowed duplicate)', async () => {
    const h = await start();
    h.emulator.enqueueFaults({ kind: 'reset', when: 'after' });
    emitTrack(h, 'u1', 2);
    await h.flush();
    assert.deepEqual(h.emulator.events().map((e) => e.properties['n']), [0, 1, 0, 1]);
    assert.equal(h.exporter.getStats().sent, 2);
  });

  it('rides out a burst of 500 and 503 answers', async () => {
    const h = await start();
    h.emulator.enqueueFaults(...[500, 503, 503, 500, 503].map((status) => ({ kind: 'status' as const, status })));
    emitTrack(h, 'u1', 1);
    await h.flush();
    assert.equal(h.emulator.events().length, 1);
    assert.deepEqual(h.emulator.requests.map((r) => ('status' in r.response ? r.response.status : 'reset')), [500, 503, 503, 500, 503, 200]);
  });

  it('waits at least what a 429 Retry-After asks before the next attempt', async () => {
    const h = await start();
    h.emulator.enqueueFaults({ kind: 'status', status: 429, retryAfter: '0.3' });
    emitTrack(h, 'u1', 1);
    const startMillis = Date.now();
    await h.flush();
    assert.equal(h.emulator.events().length, 1);
    assert.ok(Date.now() - startMillis >= 290, `waited ${Date.now() - startMillis} ms`);
  });

  it('does not retry other 4xx statuses', async () => {
    const h = await start();
    h.emulator.enqueueFaults({ kind: 'status', status: 400 });
    const { result } = await exportOnce(h.exporter, [createTrackRecord('u1')]);
    assert.equal(result.code, ExportResultCode.FAILED);
    assert.equal(h.emulator.requests.length, 1);
  });

  it('retries a response slower than timeoutMillis', async () => {
    const h = await start({ exporter: { timeoutMillis: 200 } });
    h.emulator.enqueueFaults({ kind: 'delay', delayMillis: 1_500 });
    emitTrack(h, 'u1', 1);
    await h.flush();
    assert.ok(h.emulator.events().length >= 1);
    assert.ok(h.exporter.getStats().retried >= 1);
  });

  it('never retries a permanent refusal (code 1): exactly one request, reported as failed', async () => {
    diagCapture = captureDiag();
    const h = await start();
    h.emulator.enqueueFaults({ kind: 'code', code: 1, msg: 'invalid data' });
    const { result } = await exportOnce(h.exporter, [createTrackRecord('u1'), createTrackRecord('u1')]);
    assert.equal(result.code, ExportResultCode.FAILED);
    assert.match(String(result.error?.message), /2 of 2 records .*code 1/);
    assert.equal(h.emulator.requests.length, 1);
    assert.equal(h.exporter.getStats().failed, 2);
  });

  it('keeps records answered with code 2000 waiting in the background until the client is initialised', async () => {
    const h = await start({ emulator: { uninitialisedClients: ['new-user'] }, exporter: { clientInitWaitMillis: 30_000 } });
    const { result } = await exportOnce(h.exporter, [createTrackRecord('new-user'), createTrackRecord('old-user')]);
    // the export reports without waiting for the client
    assert.equal(result.code, ExportResultCode.SUCCESS);
    assert.equal(h.exporter.getStats().waitingForClientInit, 1);
    h.emulator.initialiseClient('new-user');
    const events = await h.emulator.waitForEvents(2, 10_000);
    assert.deepEqual(events.map((e) => e.client_id).sort(), ['new-user', 'old-user']);
    await until(() => h.exporter.getStats().waitingForClientInit === 0);
    assert.equal(h.exporter.getStats().sent, 2);
  });

  it('reports code 2000 records as failed once the wait window is over', async () => {
    diagCapture = captureDiag();
    const h = await start({ emulator: { uninitialisedClients: ['new-user'] }, exporter: { clientInitWaitMillis: 200 } });
    await exportOnce(h.exporter, [createTrackRecord('new-user')]);
    await until(() => h.exporter.getStats().failed === 1);
    assert.ok(diagCapture.at('warn').some((line) => line.includes('after waiting for client initialisation')));
  });

  it('gives up on an endpoint that accepts and never answers within the export deadline', async () => {
    diagCapture = captureDiag();
    const h = await start({ exporter: { timeoutMillis: 200, exportDeadlineMillis: 1_000 } });
    h.emulator.enqueueFaults(...Array.from({ length: 50 }, () => ({ kind: 'hang' as const })));
    const startMillis = Date.now();
    const { result } = await exportOnce(h.exporter, [createTrackRecord('u1')]);
    assert.equal(result.code, ExportResultCode.FAILED);
    assert.ok(Date.now() - startMillis < 5_000);
    assert.equal(h.exporter.getStats().failed, 1);
    assert.equal(h.exporter.getStats().buffered, 0);
  });

  it('delivers what was emitted during a full outage once the endpoint is back', async () => {
    const h = await start();
    await h.emulator.setDown(true);
    emitTrack(h, 'u1', 5);
    const flushed = h.flush();
    await until(() => h.exporter.getStats().retried > 0);
    await h.emulator.setDown(false);
    await flushed;
    assert.deepEqual(h.emulator.events().map((e) => e.properties['n']), [0, 1, 2, 3, 4]);
  });

  it('splits a request the service refuses as too large (413) and delivers every record once', async () => {
    const h = await start({ emulator: { maxBodyBytes: 700 }, exporter: { compression: 'none' } });
    emitTrack(h, 'u1', 12);
    await h.flush();
    assert.deepEqual(h.emulator.events().map((e) => e.properties['n']), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    assert.ok(h.exporter.getStats().splitRequests > 0);
  });

  it('after a 413 split, a half waiting for client initialisation stays held, and shutdown reaches it at once', async () => {
    const h = await start({ exporter: { clientInitWaitMillis: 60_000, exportDeadlineMillis: 1_500 } });
    // 413 → split; the first half gets code 2000 (parked), the second half is accepted.
    h.emulator.enqueueFaults({ kind: 'status', status: 413 }, { kind: 'code', code: 2000 });
    const { result } = await exportOnce(h.exporter, [0, 1, 2, 3].map((seq) => createTrackRecord('c1', { seq })));
    assert.equal(result.code, ExportResultCode.SUCCESS);
    assert.deepEqual(h.emulator.events().map((e) => e.properties['seq']), [2, 3]);
    const stats = h.exporter.getStats();
    assert.deepEqual({ waiting: stats.waitingForClientInit, buffered: stats.buffered }, { waiting: 2, buffered: 2 });

    h.emulator.enqueueFaults({ kind: 'code', code: 2000 });
    const started = Date.now();
    await h.exporter.shutdown();
    assert.ok(Date.now() - started < 1_000, `shutdown took ${Date.now() - started} ms`);
    assert.deepEqual({ sent: h.exporter.getStats().sent, failed: h.exporter.getStats().failed, buffered: h.exporter.getStats().buffered }, { sent: 2, failed: 2, buffered: 0 });
  });

  it('reports a single record that the service refuses as too large', async () => {
    const h = await start({ emulator: { maxBodyBytes: 100 }, exporter: { compression: 'none' } });
    const { result } = await exportOnce(h.exporter, [createTrackRecord('u1', { text: 'x'.repeat(200) })]);
    assert.equal(result.code, ExportResultCode.FAILED);
    assert.match(String(result.error?.message), /too large/);
  });

  it('drops the oldest waiting records beyond maxBufferedRecords, counts and reports them', async () => {
    diagCapture = captureDiag();
    // A long backoff keeps the first export's request waiting (not on the wire) once it has failed: the one
    // state in which the cap may drop it. With a few ms it could be on its next attempt, and not droppable.
    const h = await start({ exporter: { maxBufferedRecords: 3, exportDeadlineMillis: 20_000, retry: { initialBackoffMillis: 5_000, maxBackoffMillis: 5_000 } } });
    await h.emulator.setDown(true);
    const first = exportOnce(h.exporter, [createTrackRecord('a'), createTrackRecord('a')]);
    await until(() => h.exporter.getStats().retried > 0);
    const second = exportOnce(h.exporter, [createTrackRecord('b'), createTrackRecord('b')]);
    const { result } = await first;
    assert.equal(result.code, ExportResultCode.FAILED);
    assert.equal(h.exporter.getStats().dropped, 2);
    assert.ok(h.exporter.getStats().buffered <= 3);
    assert.ok(diagCapture.at('warn').some((line) => /2 of 2 records .*dropped unsent.*maxBufferedRecords/.test(line)));
    await h.emulator.setDown(false);
    assert.equal((await second).result.code, ExportResultCode.SUCCESS);
  });
});

describe('request counters', () => {
  it('counts the requests the endpoint answered apart from the attempts made (refused connections are only attempts)', async () => {
    const h = await start();
    await h.emulator.setDown(true);
    h.emulator.enqueueFaults({ kind: 'status', status: 503 });
    const exported = exportOnce(h.exporter, [createTrackRecord('u1'), createTrackRecord('u2')]);
    // Attempts are refused while it is down; then one answer is a 503 and the rest are accepted.
    for (const started = Date.now(); h.exporter.getStats().attempts < 6 && Date.now() - started < 5_000; ) await new Promise((r) => setTimeout(r, 10));
    await h.emulator.setDown(false);
    assert.equal((await exported).result.code, ExportResultCode.SUCCESS);

    const stats = h.exporter.getStats();
    assert.equal(stats.requests, h.emulator.requests.length, 'answered = what the endpoint saw');
    assert.equal(stats.failedRequests, 1, 'the 503');
    assert.ok(stats.attempts >= stats.requests + 6, `attempts ${stats.attempts}, requests ${stats.requests}`);
  });
});
