/**
 * One export larger than `maxBufferedRecords` (big processor batches make fewer, fuller requests):
 * its requests start while it is still being mapped, it waits for its own earlier requests instead of
 * dropping its own records, each client's records still arrive in emit order, and a stalled endpoint still
 * ends it at its deadline with every record counted.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ExportResultCode } from '@opentelemetry/core';
import { LoggerProvider } from '@opentelemetry/sdk-logs';
import { startEmulator } from '../../src/emulator/index.js';
import type { Emulator } from '../../src/emulator/index.js';
import { createGravityLogRecordProcessor, GravityLogRecordExporter } from '../../src/index.js';
import type { GravityExporterOptions } from '../../src/index.js';
import { exportOnce } from '../helpers/export-once.js';
import { createTestLogRecord, createTrackRecord } from '../helpers/record-builders.js';

const RECORDS = 12_000;
const CLIENTS = 40;
const CAP = 1_000;

let emulator: Emulator | undefined;
let exporter: GravityLogRecordExporter | undefined;

afterEach(async () => {
  await exporter?.shutdown();
  await emulator?.close();
  exporter = undefined;
  emulator = undefined;
});

/**
 * An exporter with a 100-record cap and two connections in front of an emulator whose every request hangs:
 * only the export deadline (or shutdown) ends the waits.
 */
async function exporterBehindHungEndpoint(options: Pick<GravityExporterOptions, 'exportDeadlineMillis' | 'retry'>): Promise<GravityLogRecordExporter> {
  emulator = await startEmulator();
  emulator.setRandomFaults({ rate: 1, faults: [{ kind: 'hang' }] });
  return new GravityLogRecordExporter({
    url: emulator.url,
    accessToken: 't',
    maxBufferedRecords: 100,
    maxBatchSize: 10,
    maxConcurrentRequests: 2,
    timeoutMillis: 60_000,
    ...options,
  });
}

describe('an export larger than maxBufferedRecords', () => {
  it('is delivered whole through the processor, in emit order per client, never holding more than the cap', { timeout: 60_000 }, async () => {
    emulator = await startEmulator({ responseDelayMillis: 2 });
    exporter = new GravityLogRecordExporter({
      url: emulator.url,
      accessToken: 't',
      maxBufferedRecords: CAP,
      maxBatchSize: 50,
      maxConcurrentRequests: 4,
    });
    // One processor batch of all 12,000 records: twelve times the exporter's cap.
    const provider = new LoggerProvider({
      processors: [createGravityLogRecordProcessor(exporter, { maxQueueSize: RECORDS, maxExportBatchSize: RECORDS, scheduledDelayMillis: 60_000 })],
    });
    const logger = provider.getLogger('large');
    for (let i = 0; i < RECORDS; i++) logger.emit({ eventName: 'tick', attributes: { 'ge.client_id': `user-${i % CLIENTS}`, seq: i } });

    let bufferedPeak = 0;
    let firstRequestAtEvents = -1;
    const sampler = setInterval(() => {
      const stats = exporter!.getStats();
      bufferedPeak = Math.max(bufferedPeak, stats.buffered);
      if (firstRequestAtEvents < 0 && emulator!.requests.length > 0) firstRequestAtEvents = stats.received;
    }, 1);
    await provider.forceFlush();
    clearInterval(sampler);

    const stats = exporter.getStats();
    assert.equal(stats.received, RECORDS);
    assert.equal(stats.sent, RECORDS);
    assert.equal(stats.dropped, 0);
    assert.equal(stats.failed, 0);
    assert.ok(bufferedPeak <= CAP, `buffered reached ${bufferedPeak}`);
    // Requests began before the whole export was mapped.
    assert.ok(firstRequestAtEvents >= 0 && firstRequestAtEvents < RECORDS, `first request seen at ${firstRequestAtEvents} records mapped`);
    const events = emulator.events();
    assert.equal(events.length, RECORDS);
    for (let c = 0; c < CLIENTS; c++) {
      const sequence = events.filter((e) => e.client_id === `user-${c}`).map((e) => e.properties['seq']);
      assert.deepEqual(sequence, Array.from({ length: RECORDS / CLIENTS }, (_, i) => i * CLIENTS + c), `user-${c} out of order`);
    }
    await provider.shutdown();
  });

  it('ends at its deadline on a stalled endpoint, every record counted and no more than the cap held', { timeout: 30_000 }, async () => {
    exporter = await exporterBehindHungEndpoint({ exportDeadlineMillis: 1_500, retry: { initialBackoffMillis: 10, maxBackoffMillis: 40 } });
    const records = Array.from({ length: 3_000 }, (_, i) => createTrackRecord(`client-${i % 30}`, { seq: i }));
    const started = Date.now();
    const { result } = await exportOnce(exporter, records);
    const elapsed = Date.now() - started;

    assert.equal(result.code, ExportResultCode.FAILED);
    assert.ok(elapsed >= 1_400 && elapsed < 10_000, `the export took ${elapsed} ms`);
    const stats = exporter.getStats();
    assert.equal(stats.received, 3_000);
    // Nothing was delivered; every record is accounted for as dropped or failed, and none is held past the cap.
    assert.equal(stats.sent, 0);
    assert.ok(stats.buffered <= 100, `buffered ${stats.buffered}`);
    assert.equal(stats.dropped + stats.failed + stats.buffered, 3_000);
  });

  it('shut down while it waits for room: shutdown ends it, every record counted, nothing left held', { timeout: 30_000 }, async () => {
    exporter = await exporterBehindHungEndpoint({ exportDeadlineMillis: 1_000 });
    const records = Array.from({ length: 5_000 }, (_, i) => createTrackRecord(`client-${i % 50}`, { seq: i }));
    const exported = exportOnce(exporter, records);
    await emulator!.waitForRequests(1);
    const started = Date.now();
    await exporter.shutdown();
    const shutdownMillis = Date.now() - started;
    const { result } = await exported;

    assert.equal(result.code, ExportResultCode.FAILED);
    assert.ok(shutdownMillis < 5_000, `shutdown took ${shutdownMillis} ms`);
    const stats = exporter.getStats();
    assert.equal(stats.received, 5_000);
    assert.equal(stats.sent, 0);
    assert.equal(stats.buffered, 0);
    assert.equal(stats.dropped + stats.failed, 5_000);
  });

  it('with a cap below maxBatchSize, requests are cut to the cap instead of dropped', async () => {
    emulator = await startEmulator();
    exporter = new GravityLogRecordExporter({ url: emulator.url, accessToken: 't', maxBufferedRecords: 50 });
    const records = Array.from({ length: 300 }, (_, i) => createTrackRecord('one-client', { seq: i }));
    const { result } = await exportOnce(exporter, records);

    assert.equal(result.code, ExportResultCode.SUCCESS);
    assert.equal(exporter.getStats().dropped, 0);
    assert.deepEqual(emulator.events().map((e) => e.properties['seq']), records.map((_, i) => i));
    assert.ok(emulator.requests.every((r) => Number(r.headers['ge-integration-count']) <= 50));
  });

  it('stops waiting for room once its own batches are all parked for client initialisation, not at its deadline', { timeout: 15_000 }, async () => {
    emulator = await startEmulator({ uninitialisedClients: ['a', 'b'] });
    exporter = new GravityLogRecordExporter({
      url: emulator.url,
      accessToken: 't',
      maxBufferedRecords: 20,
      maxBatchSize: 10,
      maxConcurrentRequests: 1,
      clientInitWaitMillis: 60_000,
      exportDeadlineMillis: 5_000,
      // client-initialisation backoff = min(2 s, 2 × maxBackoffMillis) = 100 ms
      retry: { initialBackoffMillis: 10, maxBackoffMillis: 50 },
    });
    // One connection, so requests are serial: a (code 2000 at once), b (code 2000 after 300 ms), then a's
    // background re-attempt, which waited for the connection (code 2000 after 200 ms more) and parks again.
    emulator.enqueueFaults({ kind: 'delay', delayMillis: 0 }, { kind: 'delay', delayMillis: 300 }, { kind: 'delay', delayMillis: 200 });
    const records = ['a', 'b', 'c'].flatMap((client) => Array.from({ length: 10 }, (_, i) => createTrackRecord(client, { seq: i })));
    const started = Date.now();
    await exportOnce(exporter, records);
    const elapsed = Date.now() - started;
    // a and b fill the cap and are both parked by ~0.5 s; c then has nothing of its own to wait for.
    assert.ok(elapsed < 2_000, `the export took ${elapsed} ms (exportDeadlineMillis 5000); its batches were all parked after ~0.5 s`);
  });

  it('never drops a newer export\'s records to make room for its own: it waits for its own requests', { timeout: 15_000 }, async () => {
    emulator = await startEmulator({ responseDelayMillis: 100 });
    exporter = new GravityLogRecordExporter({ url: emulator.url, accessToken: 't', maxBufferedRecords: 100, maxBatchSize: 10, maxConcurrentRequests: 1 });
    // The first export (300 records, 30 clients) fills the cap with 10 batches and waits for room for the rest.
    const first = exportOnce(exporter, Array.from({ length: 300 }, (_, i) => createTrackRecord(`old-${i % 30}`, { seq: i })));
    await emulator.waitForRequests(1);
    // A newer export of 10 records makes room by dropping the oldest waiting batch of the first (drop-oldest).
    const second = await exportOnce(exporter, Array.from({ length: 10 }, (_, i) => createTrackRecord('new-client', { seq: i })));
    const firstResult = (await first).result;

    assert.equal(second.result.code, ExportResultCode.SUCCESS, second.result.error?.message);
    assert.equal(emulator.events().filter((e) => e.client_id === 'new-client').length, 10);
    assert.equal(firstResult.code, ExportResultCode.FAILED);
    const stats = exporter.getStats();
    assert.deepEqual({ sent: stats.sent, dropped: stats.dropped, buffered: stats.buffered }, { sent: 300, dropped: 10, buffered: 0 });
  });

  it('a record that throws while it is read, in a later slice, is rejected alone: the rest go out', async () => {
    emulator = await startEmulator();
    exporter = new GravityLogRecordExporter({ url: emulator.url, accessToken: 't' });
    const records = Array.from({ length: 3_000 }, (_, i) => createTrackRecord(`c${i % 8}`, { seq: i }));
    const body = Object.defineProperty({}, 'total', { enumerable: true, get: () => { throw new Error('getter threw'); } });
    records[2_500] = createTestLogRecord({ eventName: 'purchase', body, attributes: { 'ge.client_id': 'c4' } });
    const { result } = await exportOnce(exporter, records);

    assert.equal(result.code, ExportResultCode.SUCCESS);
    const stats = exporter.getStats();
    assert.deepEqual({ sent: stats.sent, rejected: stats.rejectedByReason, buffered: stats.buffered }, { sent: 2_999, rejected: { invalid_value: 1 }, buffered: 0 });
    const seqs = emulator.events().map((e) => e.properties['seq'] as number).sort((a, b) => a - b);
    assert.deepEqual(seqs, records.map((_, i) => i).filter((i) => i !== 2_500));
  });
});

