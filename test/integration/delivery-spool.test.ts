/** The durable spool behind `spoolDir`: what an outage leaves survives a SIGKILL and is delivered once later. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ExportResultCode } from '@opentelemetry/core';
import { startEmulator } from '../../src/emulator/index.js';
import type { Emulator } from '../../src/emulator/index.js';
import { GravityLogRecordExporter } from '../../src/index.js';
import { exportOnce } from '../helpers/export-once.js';
import { createTrackRecord } from '../helpers/record-builders.js';
import { useTestCleanups } from '../helpers/test-cleanups.js';

const CHILD = fileURLToPath(new URL('../helpers/spool-child.ts', import.meta.url));
const PROVIDER_CHILD = fileURLToPath(new URL('../helpers/spool-provider-child.ts', import.meta.url));
const FAST = { accessToken: 't', retry: { initialBackoffMillis: 10, maxBackoffMillis: 50 } };

const { cleanups, tempDir, emulatorFor } = useTestCleanups('ge-spool-test-');

function seqs(emulator: Emulator): number[] {
  return emulator.events().map((e) => Number(e.properties['seq'])).sort((a, b) => a - b);
}

describe('delivery with a spool', () => {
  it(
    'keeps a client\'s order when one of its requests is spooled: its later requests follow it through the spool',
    async () => {
      const emulator = await emulatorFor();
      const exporter = new GravityLogRecordExporter({ ...FAST, url: emulator.url, spoolDir: tempDir(), maxBatchSize: 2 });
      cleanups.push(() => exporter.shutdown());
      // One client, three requests of two records; only the first meets a 503 (spooled after one attempt).
      emulator.enqueueFaults({ kind: 'status', status: 503 });
      const { result } = await exportOnce(exporter, Array.from({ length: 6 }, (_, i) => createTrackRecord('u1', { seq: i })));
      assert.equal(result.code, ExportResultCode.SUCCESS);
      const events = await emulator.waitForEvents(6, 10_000);
      assert.deepEqual(events.map((e) => e.properties['seq']), [0, 1, 2, 3, 4, 5]);
    },
  );

  it('spools a client\'s later batch after its earlier one when the memory cap sets it aside while the earlier one is on the wire', { timeout: 20_000 }, async () => {
    const emulator = await emulatorFor();
    const exporter = new GravityLogRecordExporter({
      ...FAST,
      url: emulator.url,
      spoolDir: tempDir(),
      maxBufferedRecords: 4,
      maxBatchSize: 2,
      maxConcurrentRequests: 1,
    });
    cleanups.push(() => exporter.shutdown());
    // x0, x1 stay on the wire for half a second, then get a 503 (and are spooled).
    emulator.setResponseDelay(500);
    emulator.enqueueFaults({ kind: 'status', status: 503 });
    const first = exportOnce(exporter, [createTrackRecord('x', { seq: 0 }), createTrackRecord('x', { seq: 1 })]);
    await emulator.waitForRequests(1);
    emulator.setResponseDelay(0);
    // x2, x3 wait behind them; four records of y then need the room, so the cap sets x2, x3 aside.
    const second = exportOnce(exporter, [createTrackRecord('x', { seq: 2 }), createTrackRecord('x', { seq: 3 })]);
    const third = exportOnce(exporter, [0, 1, 2, 3].map((i) => createTrackRecord('y', { seq: 10 + i })));
    for (const { result } of await Promise.all([first, second, third])) assert.equal(result.code, ExportResultCode.SUCCESS);

    const events = await emulator.waitForEvents(8, 15_000);
    assert.deepEqual(events.filter((e) => e.client_id === 'x').map((e) => e.properties['seq']), [0, 1, 2, 3]);
    assert.equal(exporter.getStats().dropped, 0);
  });

  it('reports an export during an outage as done once its records are spooled, and replays them on recovery', async () => {
    const emulator = await emulatorFor();
    await emulator.setDown(true);
    const exporter = new GravityLogRecordExporter({ ...FAST, url: emulator.url, spoolDir: tempDir() });
    cleanups.push(() => exporter.shutdown());
    const records = Array.from({ length: 20 }, (_, i) => createTrackRecord(`c${i % 4}`, { seq: i }));
    const { result } = await exportOnce(exporter, records);
    assert.equal(result.code, ExportResultCode.SUCCESS);
    assert.equal(exporter.getStats().spooled, 20);
    await emulator.setDown(false);
    await emulator.waitForEvents(20, 15_000);
    assert.deepEqual(seqs(emulator), Array.from({ length: 20 }, (_, i) => i));
  });

  it('spools a whole export larger than maxBufferedRecords during an outage (it waits for room, drops nothing)', { timeout: 60_000 }, async () => {
    const emulator = await emulatorFor();
    await emulator.setDown(true);
    const exporter = new GravityLogRecordExporter({ ...FAST, url: emulator.url, spoolDir: tempDir(), maxBufferedRecords: 300, maxBatchSize: 20 });
    cleanups.push(() => exporter.shutdown());
    const records = Array.from({ length: 5_000 }, (_, i) => createTrackRecord(`c${i % 40}`, { seq: i }));
    const { result } = await exportOnce(exporter, records);
    assert.equal(result.code, ExportResultCode.SUCCESS);
    const stats = exporter.getStats();
    assert.equal(stats.spooled, 5_000);
    assert.equal(stats.dropped, 0);
    await emulator.setDown(false);
    await emulator.waitForEvents(5_000, 40_000);
    assert.deepEqual(seqs(emulator), Array.from({ length: 5_000 }, (_, i) => i));
  });

  it('loses nothing when a partly delivered replay round cannot be written back (spool near its cap)', { timeout: 30_000 }, async () => {
    const dir = tempDir();
    const emulator = await emulatorFor();
    await emulator.setDown(true);
    const first = new GravityLogRecordExporter({ ...FAST, url: emulator.url, spoolDir: dir });
    await exportOnce(first, Array.from({ length: 20 }, (_, i) => createTrackRecord(`c${i % 2}`, { seq: i })));
    assert.equal(first.getStats().spooled, 20);
    await first.shutdown();
    // Another live process's (sparse) segment fills the directory to a quarter of those records below the cap.
    const spooledBytes = readdirSync(dir).filter((n) => n.startsWith('seg-')).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
    const blocker = join(dir, `seg-000000000000001-000000-${process.ppid}-aaaaaaaaaaaaaaaa.open`);
    closeSync(openSync(blocker, 'w'));
    truncateSync(blocker, 256 * 1024 * 1024 - spooledBytes - Math.floor(spooledBytes / 4));

    // The endpoint is back, but the first request of the replay round gets a 503 (the other client's succeeds).
    await emulator.setDown(false);
    emulator.enqueueFaults({ kind: 'status', status: 503 });
    const second = new GravityLogRecordExporter({ ...FAST, url: emulator.url, spoolDir: dir });
    cleanups.push(() => second.shutdown());
    const distinct = (): number => new Set(seqs(emulator)).size;
    for (const started = Date.now(); distinct() < 20 && Date.now() - started < 20_000; ) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual([...new Set(seqs(emulator))], Array.from({ length: 20 }, (_, i) => i), 'at least once each, never lost');
  });

  it('splits a replayed request the service refuses as too large (413) and delivers every record, in order', { timeout: 20_000 }, async () => {
    const emulator = await startEmulator({ maxBodyBytes: 2_500 });
    cleanups.push(() => emulator.close());
    const exporter = new GravityLogRecordExporter({ ...FAST, url: emulator.url, spoolDir: tempDir(), compression: 'none' });
    cleanups.push(() => exporter.shutdown());
    await emulator.setDown(true);
    await exportOnce(exporter, Array.from({ length: 20 }, (_, i) => createTrackRecord('u1', { seq: i })));
    assert.equal(exporter.getStats().spooled, 20);
    await emulator.setDown(false);
    const events = await emulator.waitForEvents(20, 15_000);
    assert.deepEqual(events.map((e) => e.properties['seq']), Array.from({ length: 20 }, (_, i) => i));
    // The emulator stores events before it answers: the counters follow the answers.
    for (const started = Date.now(); exporter.getStats().replayed < 20 && Date.now() - started < 5_000; ) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual({ failed: exporter.getStats().failed, replayed: exporter.getStats().replayed }, { failed: 0, replayed: 20 });
    assert.ok(exporter.getStats().splitRequests > 0);
  });

  it('lets replayed records of a client not initialised yet (code 2000) wait for it, as live ones do', { timeout: 20_000 }, async () => {
    const emulator = await startEmulator({ uninitialisedClients: ['u1'] });
    cleanups.push(() => emulator.close());
    const exporter = new GravityLogRecordExporter({ ...FAST, url: emulator.url, spoolDir: tempDir(), clientInitWaitMillis: 60_000 });
    cleanups.push(() => exporter.shutdown());
    await emulator.setDown(true);
    await exportOnce(exporter, Array.from({ length: 5 }, (_, i) => createTrackRecord('u1', { seq: i })));
    assert.equal(exporter.getStats().spooled, 5);
    await emulator.setDown(false);
    for (const started = Date.now(); exporter.getStats().waitingForClientInit < 5 && Date.now() - started < 10_000; ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(exporter.getStats().waitingForClientInit, 5, 'the replay met code 2000 and the records wait');
    emulator.initialiseClient('u1');
    const events = await emulator.waitForEvents(5, 10_000);
    assert.deepEqual(events.map((e) => e.properties['seq']), [0, 1, 2, 3, 4]);
    assert.equal(exporter.getStats().failed, 0);
  });

  it('counts a record lost to a damaged spool line as dropped, and delivers the rest', async () => {
    const emulator = await emulatorFor();
    const dir = tempDir();
    await emulator.setDown(true);
    const first = new GravityLogRecordExporter({ ...FAST, url: emulator.url, spoolDir: dir });
    await exportOnce(first, Array.from({ length: 10 }, (_, i) => createTrackRecord('u1', { seq: i })));
    await first.shutdown();
    const segment = readdirSync(dir).find((name) => name.startsWith('seg-'))!;
    writeFileSync(join(dir, segment), readFileSync(join(dir, segment), 'utf8').replace('\\"seq\\":3', '\\"seq\\":333'));

    await emulator.setDown(false);
    const second = new GravityLogRecordExporter({ ...FAST, url: emulator.url, spoolDir: dir });
    cleanups.push(() => second.shutdown());
    const events = await emulator.waitForEvents(9, 15_000);
    assert.deepEqual(events.map((e) => e.properties['seq']), [0, 1, 2, 4, 5, 6, 7, 8, 9]);
    assert.equal(second.getStats().dropped, 1);
  });

  it('keeps the original time of spooled records', async () => {
    const emulator = await emulatorFor();
    await emulator.setDown(true);
    const exporter = new GravityLogRecordExporter({ ...FAST, url: emulator.url, spoolDir: tempDir() });
    cleanups.push(() => exporter.shutdown());
    const timestamp = Date.now() - 60_000;
    await exportOnce(exporter, [createTrackRecord('u1', { seq: 0 }, { timestamp })]);
    await emulator.setDown(false);
    const [event] = await emulator.waitForEvents(1, 15_000);
    assert.equal(event?.time, timestamp);
  });

  it('delivers, each once, what a process SIGKILLed during an outage had spooled', async () => {
    const emulator = await emulatorFor();
    const dir = tempDir();
    await emulator.setDown(true);
    // run 1: the endpoint is down; killed once everything is spooled
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, emulator.url, dir, '1000', '50'], { stdio: ['ignore', 'pipe', 'pipe'] });
    cleanups.push(() => void child.kill('SIGKILL'));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`child never spooled: ${out}`)), 30_000);
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('spooled')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    // run 2: the endpoint is up; a new process using the directory drains it
    await emulator.setDown(false);
    const exporter = new GravityLogRecordExporter({ ...FAST, url: emulator.url, spoolDir: dir });
    cleanups.push(() => exporter.shutdown());
    await emulator.waitForEvents(1000, 30_000);
    assert.deepEqual(seqs(emulator), Array.from({ length: 1000 }, (_, i) => i));
  });
  it('delivers all 10,000 records a LoggerProvider emitted during an outage, each once, after a SIGKILL', async () => {
    const emulator = await emulatorFor();
    const dir = tempDir();
    await emulator.setDown(true);
    // run 1: emit through the real provider and processor helper, forceFlush (= delivered or spooled), SIGKILL
    const child = spawn(process.execPath, ['--import', 'tsx', PROVIDER_CHILD, emulator.url, dir, '10000', '1000'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanups.push(() => void child.kill('SIGKILL'));
    const flushed = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`child never flushed: ${out}`)), 60_000);
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('\n')) {
          clearTimeout(timer);
          resolve(out.trim());
        }
      });
    });
    assert.equal(flushed, 'flushed 10000');
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    // run 2: the endpoint is up; a new process using the same directory delivers everything once
    await emulator.setDown(false);
    const exporter = new GravityLogRecordExporter({ ...FAST, url: emulator.url, spoolDir: dir });
    cleanups.push(() => exporter.shutdown());
    await emulator.waitForEvents(10_000, 60_000);
    await exporter.forceFlush();
    assert.deepEqual(seqs(emulator), Array.from({ length: 10_000 }, (_, i) => i));
  });
});
