/** Shutdown against a hanging endpoint: it resolves within its deadline and leaves nothing holding the process. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ExportResultCode } from '@opentelemetry/core';
import { LoggerProvider } from '@opentelemetry/sdk-logs';
import { startEmulator } from '../../src/emulator/index.js';
import type { Emulator } from '../../src/emulator/index.js';
import { createGravityLogRecordProcessor, GravityLogRecordExporter, GravityShutdownError } from '../../src/index.js';
import { exportOnce } from '../helpers/export-once.js';
import { createTrackRecord } from '../helpers/record-builders.js';

const CHILD = fileURLToPath(new URL('../helpers/shutdown-child.ts', import.meta.url));
const BACKOFF_CHILD = fileURLToPath(new URL('../helpers/shutdown-backoff-child.ts', import.meta.url));

let emulator: Emulator;
before(async () => {
  emulator = await startEmulator();
});
after(() => emulator.close());

describe('shutdown', () => {
  it('lets the process exit within a second after shutdown resolves, with an endpoint that never answers', async () => {
    emulator.enqueueFaults(...Array.from({ length: 20 }, () => ({ kind: 'hang' as const })));
    const run = await runShutdownChild(emulator.url);
    assert.ok(run.exitedAfterMillis < 1_000, `exited ${run.exitedAfterMillis} ms after shutdown resolved`);
    assert.equal(run.stats.dropped + run.stats.failed, 2);
    assert.equal(run.stats.buffered, 0);
    assert.match(run.stdout, new RegExp(`export-result ${ExportResultCode.FAILED}`));
  });

  it('lets the process exit within a second after shutdown resolves, with an https address that never answers the handshake', async () => {
    const sockets = new Set<Socket>();
    const silent = createTcpServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const run = await runShutdownChild(`https://127.0.0.1:${(silent.address() as AddressInfo).port}`);
      assert.ok(run.exitedAfterMillis < 1_000, `exited ${run.exitedAfterMillis} ms after shutdown resolved`);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('holds the process while a script awaits it and a retry waits out Retry-After on unref\'d timers', async () => {
    emulator.clear();
    emulator.enqueueFaults({ kind: 'status', status: 503, retryAfter: 1 });
    const child = spawn(process.execPath, ['--import', 'tsx', BACKOFF_CHILD, emulator.url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    const match = /shutdown-resolved (.*)/.exec(stdout);
    assert.ok(match, `the process exited ${code} before shutdown resolved; stdout: ${stdout}; stderr: ${stderr}`);
    assert.equal(code, 0);
    const stats = JSON.parse(match[1]!) as { sent: number; requests: number; buffered: number };
    assert.deepEqual({ sent: stats.sent, requests: stats.requests, buffered: stats.buffered }, { sent: 1, requests: 2, buffered: 0 });
    assert.equal(emulator.events().length, 1);
  });

  it('is idempotent, and export fails fast afterwards', async () => {
    const exporter = new GravityLogRecordExporter({ url: emulator.url, accessToken: 't' });
    await Promise.all([exporter.shutdown(), exporter.shutdown()]);
    await exporter.shutdown();
    const { result } = await exportOnce(exporter, [createTrackRecord('u1')]);
    assert.equal(result.code, ExportResultCode.FAILED);
    assert.ok(result.error instanceof GravityShutdownError);
  });

  it('waits for records in delivery before closing', async () => {
    emulator.clear();
    emulator.enqueueFaults({ kind: 'delay', delayMillis: 300 });
    const exporter = new GravityLogRecordExporter({ url: emulator.url, accessToken: 't' });
    const exported = exportOnce(exporter, [createTrackRecord('late')]);
    await exporter.shutdown();
    assert.equal((await exported).result.code, ExportResultCode.SUCCESS);
    assert.deepEqual(emulator.events().map((e) => e.client_id), ['late']);
  });

  it('gives a batch parked (code 2000) after shutdown began its last attempt before it resolves', async () => {
    const uninitialised = await startEmulator({ uninitialisedClients: ['new-user'] });
    const exporter = new GravityLogRecordExporter({ url: uninitialised.url, accessToken: 't', clientInitWaitMillis: 60_000, exportDeadlineMillis: 4_000 });
    try {
      uninitialised.enqueueFaults({ kind: 'delay', delayMillis: 300 });
      const exported = exportOnce(exporter, [createTrackRecord('new-user')]);
      await uninitialised.waitForRequests(1);
      // Its request is in flight: the code 2000 answer comes after shutdown began.
      await exporter.shutdown();
      assert.equal((await exported).result.code, ExportResultCode.SUCCESS);
      const stats = exporter.getStats();
      assert.deepEqual(
        { requests: uninitialised.requests.length, waitingForClientInit: stats.waitingForClientInit, buffered: stats.buffered, failed: stats.failed },
        { requests: 2, waitingForClientInit: 0, buffered: 0, failed: 1 },
      );
    } finally {
      await uninitialised.close();
    }
  });
});

/** Runs test/helpers/shutdown-child.ts against `url`: when it exited after shutdown resolved, and its counters. */
async function runShutdownChild(url: string): Promise<{ exitedAfterMillis: number; stats: { dropped: number; failed: number; buffered: number }; stdout: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, url], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exitedAtMillis = await new Promise<number>((resolve, reject) => {
    const killer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child did not exit; stdout: ${stdout}; stderr: ${stderr}`));
    }, 30_000);
    child.on('exit', () => {
      clearTimeout(killer);
      resolve(Date.now());
    });
  });
  const match = /shutdown-resolved (\d+) (.*)/.exec(stdout);
  assert.ok(match, `no shutdown line; stdout: ${stdout}; stderr: ${stderr}`);
  return { exitedAfterMillis: exitedAtMillis - Number(match[1]), stats: JSON.parse(match[2]!) as { dropped: number; failed: number; buffered: number }, stdout };
}

describe('shutdown within its budget', () => {
  for (const withSpool of [false, true]) {
    it(`provider.shutdown() with the processor helper returns within shutdownTimeoutMillis behind an endpoint that never answers, every record accounted for${withSpool ? ' (spooled)' : ''}`, async (t) => {
      const hanging = await startEmulator();
      hanging.setRandomFaults({ rate: 1, faults: [{ kind: 'hang' }] });
      const spoolDir = withSpool ? mkdtempSync(join(tmpdir(), 'ge-shutdown-budget-')) : undefined;
      try {
        const budgetMillis = 4_000;
        const exporter = new GravityLogRecordExporter({
          url: hanging.url,
          accessToken: 't',
          shutdownTimeoutMillis: budgetMillis,
          ...(spoolDir === undefined ? {} : { spoolDir }),
        });
        const provider = new LoggerProvider({ processors: [createGravityLogRecordProcessor(exporter, { scheduledDelayMillis: 100 })] });
        const logger = provider.getLogger('stalled');
        for (let i = 0; i < 2_000; i++) {
          logger.emit({ eventName: 'purchase', attributes: { 'ge.client_id': `c${i % 200}`, seq: i } });
          if (i % 200 === 199) await new Promise((resolve) => setTimeout(resolve, 100));
        }
        const started = Date.now();
        await provider.shutdown();
        const elapsedMillis = Date.now() - started;

        t.diagnostic(`shutdown took ${elapsedMillis} ms of ${budgetMillis}`);
        assert.ok(elapsedMillis <= budgetMillis, `shutdown took ${elapsedMillis} ms`);
        const stats = exporter.getStats();
        assert.equal(stats.sent + stats.spooled + stats.failed + stats.dropped + stats.droppedByProcessor, 2_000, JSON.stringify(stats));
        assert.equal(stats.buffered, 0);
        if (withSpool) assert.equal(stats.spooled, 2_000);
      } finally {
        await hanging.close();
        if (spoolDir !== undefined) rmSync(spoolDir, { recursive: true, force: true });
      }
    });
  }
});
