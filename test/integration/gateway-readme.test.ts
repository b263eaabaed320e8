/**
 * The README's gateway code block, run as pasted (against the built package, as a user's file would import it):
 * it starts both receivers, a record goes through, and SIGTERM ends the process once it has drained.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startEmulator } from '../../src/emulator/index.js';
import type { Emulator } from '../../src/emulator/index.js';

const repoRoot = process.cwd();
const TOKEN = 'readme-gateway-token';

function readmeBlock(): string {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const block = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!).find((code) => code.includes("from 'gravity-otel-exporter/gateway'"));
  assert.ok(block !== undefined, 'README has a gateway code block');
  return block;
}

describe('README: the gateway code block', () => {
  let emulator: Emulator;

  before(async () => {
    if (!existsSync(path.join(repoRoot, 'dist/esm/gateway/index.js'))) {
      await promisify(execFile)(process.execPath, ['scripts/build.mjs'], { cwd: repoRoot, timeout: 120_000 });
    }
    emulator = await startEmulator({ accessToken: TOKEN });
  });
  after(() => emulator.close());

  it('runs as pasted: both receivers listen, a record is delivered, SIGTERM drains and the process ends', async () => {
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('GE_')));
    // The block is plain JavaScript as well as TypeScript: run it as an ES module from the package's directory.
    const child = spawn(process.execPath, ['--input-type=module', '-e', readmeBlock()], {
      cwd: repoRoot,
      env: {
        ...inherited,
        GE_SERVER_URL: emulator.url,
        GE_ACCESS_TOKEN: TOKEN,
        GE_GATEWAY_HTTP_ENDPOINT: '127.0.0.1:0',
        GE_GATEWAY_GRPC_ENDPOINT: '127.0.0.1:0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    let httpUrl: string | undefined;
    const deadline = Date.now() + 20_000;
    while (httpUrl === undefined) {
      httpUrl = /OTLP\/HTTP on (http:\/\/127\.0\.0\.1:\d+), OTLP\/gRPC on 127\.0\.0\.1:\d+/.exec(output)?.[1];
      if (httpUrl === undefined && (child.exitCode !== null || Date.now() > deadline)) assert.fail(`the block did not start the gateway:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }

    const response = await fetch(`${httpUrl}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        resourceLogs: [{ scopeLogs: [{ logRecords: [{ eventName: 'readme', attributes: [{ key: 'ge.client_id', value: { stringValue: 'reader' } }] }] }] }],
      }),
    });
    assert.equal(response.status, 200);
    assert.deepEqual(
      emulator.events().map((e) => [e.client_id, e.event]),
      [['reader', 'readme']],
    );
    child.kill('SIGTERM');
    assert.equal(await exited, 0, output);
  });
});
