/**
 * TLS stays verified: a certificate the process cannot verify is refused even when the host application sets
 * NODE_TLS_REJECT_UNAUTHORIZED=0, and a private CA is trusted the standard way (NODE_EXTRA_CA_CERTS).
 * The server is a real https server on 127.0.0.1 with a self-signed certificate (test/fixtures/tls).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { GravityLogRecordExporter } from '../../src/index.js';
import { exportOnce } from '../helpers/export-once.js';
import { createTrackRecord } from '../helpers/record-builders.js';

const CERT = fileURLToPath(new URL('../fixtures/tls/localhost-cert.pem', import.meta.url));
const KEY = fileURLToPath(new URL('../fixtures/tls/localhost-key.pem', import.meta.url));
const CHILD = fileURLToPath(new URL('../helpers/tls-export-child.ts', import.meta.url));

/** Client ids of the requests that reached the server (only a verified handshake gets that far). */
const received: string[] = [];
let server: Server;
let url: string;

before(async () => {
  server = createServer({ key: readFileSync(KEY), cert: readFileSync(CERT) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const body = req.headers['gravity-content-compress'] === 'gzip' ? gunzipSync(raw) : raw;
      received.push((JSON.parse(body.toString('utf8')) as { client_id: string }).client_id);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"code":0,"msg":"ok"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(typeof address === 'object' && address !== null);
  url = `https://127.0.0.1:${address.port}`;
});

after(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('TLS verification', () => {
  it('refuses a self-signed certificate even when NODE_TLS_REJECT_UNAUTHORIZED=0, naming the cause and not the token', async () => {
    const before = received.length;
    const saved = process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
    const exporter = new GravityLogRecordExporter({ url, accessToken: 'secret-token-123', retry: { maxAttempts: 1 } });
    try {
      const { result } = await exportOnce(exporter, [createTrackRecord('tls-user')]);
      assert.equal(result.code, 1);
      const message = result.error?.message ?? '';
      assert.match(message, /self-signed certificate/);
      assert.doesNotMatch(message, /secret-token-123/);
      assert.equal(received.length, before, 'no request may pass an unverified handshake');
      assert.equal(exporter.getStats().failed, 1);
    } finally {
      await exporter.shutdown();
      if (saved === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
      else process.env.NODE_TLS_REJECT_UNAUTHORIZED = saved;
    }
  });

  it('delivers to a server whose CA the process trusts through NODE_EXTRA_CA_CERTS', async () => {
    const before = received.length;
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, url], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_EXTRA_CA_CERTS: CERT },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exitCode = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(exitCode, 0, stderr);
    assert.match(stdout, /^export-result 0 $/m);
    assert.deepEqual(received.slice(before), ['tls-user']);
  });
});
