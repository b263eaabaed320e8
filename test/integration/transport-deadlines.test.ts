/**
 * Every attempt ends within its time, whatever the peer does: a response that trickles its body a byte at a
 * time (undici's idle timeouts restart with every chunk), and an https address that accepts TCP but never
 * answers the TLS handshake (undici acts on an abort only once connected). Real servers on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, test } from 'node:test';
import type { ExportResult } from '@opentelemetry/core';
import { GravityLogRecordExporter } from '../../src/index.js';
import { exportOnce } from '../helpers/export-once.js';
import { createTrackRecord } from '../helpers/record-builders.js';

const TOKEN = 'deadline-test-token';
let cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

/**
 * Exports one record to `url` with a 1 s export deadline and the given attempt timeout; resolves with its result
 * and how long it took, or without a result after 6 s.
 */
async function exportWithin(url: string, timeoutMillis: number): Promise<{ result: ExportResult | undefined; elapsedMillis: number }> {
  const exporter = new GravityLogRecordExporter({ url, accessToken: TOKEN, timeoutMillis, exportDeadlineMillis: 1_000 });
  cleanups.push(() => exporter.shutdown());
  const started = Date.now();
  const result = await Promise.race([
    exportOnce(exporter, [createTrackRecord('c1')]).then((observed) => observed.result),
    new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 6_000).unref()),
  ]);
  return { result, elapsedMillis: Date.now() - started };
}

describe('attempt and export deadlines hold against stalling peers', () => {
  test('a body trickled a byte every 150 ms is cut by timeoutMillis, within the export deadline', async () => {
    const timers = new Set<NodeJS.Timeout>();
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' }); // chunked, no content-length
        res.flushHeaders();
        const timer = setInterval(() => res.write(' '), 150);
        timers.add(timer);
        res.on('close', () => clearInterval(timer));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      for (const t of timers) clearInterval(t);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const { result, elapsedMillis } = await exportWithin(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, 500);
    assert.ok(result !== undefined, `no export result after ${elapsedMillis} ms (timeoutMillis 500, exportDeadlineMillis 1000)`);
    assert.ok(elapsedMillis < 2_500, `export took ${elapsedMillis} ms, deadline 1000 ms`);
  });

  test('an https address that accepts TCP but never answers the TLS handshake is cut at the export deadline', async () => {
    const sockets = new Set<Socket>();
    const server = createTcpServer((socket) => {
      sockets.add(socket); // never writes: the TLS handshake never completes
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const { result, elapsedMillis } = await exportWithin(`https://127.0.0.1:${(server.address() as AddressInfo).port}`, 8_000);
    assert.equal(result?.code, 1);
    assert.ok(elapsedMillis < 2_500, `export result after ${elapsedMillis} ms, exportDeadlineMillis 1000 (error: ${result?.error?.message})`);
  });
});
