import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { startEmulator } from '../../src/emulator/index.js';
import type { Emulator } from '../../src/emulator/index.js';
import { protobufLogs, postOtlp, trackRecords } from '../helpers/otlp-raw.js';
import { logProvider, otlpLogExporter } from '../helpers/otlp-senders.js';

const TOKEN = 'gateway-process-token';

interface GatewayProcess {
  readonly child: ChildProcess;
  readonly httpUrl: string;
  readonly exited: Promise<number | null>;
  output(): string;
}

/** `gravity-otel gateway` in a process of its own, configured by env as an operator would. */
async function spawnGateway(emulator: Emulator, args: string[], env: Record<string, string> = {}): Promise<GatewayProcess> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('GE_')));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', 'gateway', ...args], {
    env: { ...base, GE_SERVER_URL: emulator.url, GE_ACCESS_TOKEN: TOKEN, GE_GATEWAY_GRPC_ENDPOINT: 'none', OTEL_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const match = /OTLP\/HTTP\s+(http:\/\/\S+?)\/v1\/logs/.exec(output);
    if (match !== null) return { child, httpUrl: match[1]!, exited, output: () => output };
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the gateway did not start:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function metric(httpUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const match = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
  return match === null ? 0 : Number(match[1]);
}

describe('gravity-otel gateway as a process', () => {
  let emulator: Emulator;
  const running: ChildProcess[] = [];
  const dirs: string[] = [];

  before(async () => {
    emulator = await startEmulator({ accessToken: TOKEN });
  });
  afterEach(async () => {
    for (const child of running.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    emulator.clear();
    emulator.setResponseDelay(0);
    await emulator.setDown(false);
  });
  after(async () => {
    await emulator.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('SIGTERM: the request in progress is delivered and answered, new ones are turned away, and it exits within the deadline', async () => {
    const gateway = await spawnGateway(emulator, ['--http', '127.0.0.1:0', '--drain-timeout', '8000']);
    running.push(gateway.child);
    emulator.setResponseDelay(1_500);
    const inProgress = postOtlp(`${gateway.httpUrl}/v1/logs`, protobufLogs(trackRecords(5, 'draining')));
    await emulator.waitForRequests(1);
    const signalledAt = Date.now();
    gateway.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const late = await postOtlp(`${gateway.httpUrl}/v1/logs`, protobufLogs(trackRecords(1, 'late'))).then(
      (response) => response.status,
      () => 'refused',
    );

    assert.equal((await inProgress).status, 200);
    assert.equal(await gateway.exited, 0);
    const drainMillis = Date.now() - signalledAt;
    assert.ok(drainMillis < 8_000, `drained in ${drainMillis} ms`);
    assert.ok(late === 503 || late === 'refused', `a request after SIGTERM got ${late}`);
    assert.deepEqual(
      emulator.events().map((e) => e.client_id),
      ['draining-0', 'draining-0', 'draining-0', 'draining-0', 'draining-0'],
    );
    assert.match(gateway.output(), /SIGTERM, draining[\s\S]*stopped: 5 records received, 5 sent/);
  });

  it('ack spooled, SIGKILL mid-load, restart on the same spool: the senders\' retries and the spool lose nothing', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gravity-gateway-spool-'));
    dirs.push(dir);
    // Gravity is down throughout the crash: every acknowledged record is only in the spool.
    await emulator.setDown(true);
    const args = ['--ack', 'spooled', '--spool-dir', dir];
    const first = await spawnGateway(emulator, [...args, '--http', '127.0.0.1:0']);
    running.push(first.child);
    const port = new URL(first.httpUrl).port;
    const exporter = otlpLogExporter('http/protobuf', { httpUrl: first.httpUrl }, { timeoutMillis: 30_000 });
    const provider = logProvider(exporter, { scheduledDelayMillis: 20, maxExportBatchSize: 20 });
    const logger = provider.getLogger('shop');
    let seq = 0;
    const emitRound = async (): Promise<void> => {
      for (let i = 0; i < 20; i++, seq++) logger.emit({ eventName: 'tap', attributes: { 'ge.client_id': `user-${seq % 7}`, seq } });
      await new Promise((resolve) => setTimeout(resolve, 40));
    };
    for (let round = 0; round < 4; round++) await emitRound();
    while ((await metric(first.httpUrl, 'gravity_gateway_records_spooled_total')) < 40) await new Promise((resolve) => setTimeout(resolve, 20));
    first.child.kill('SIGKILL');
    await first.exited;
    // Load goes on while no gateway listens: those exports fail to connect and the exporter retries them.
    for (let round = 4; round < 8; round++) await emitRound();
    const second = await spawnGateway(emulator, [...args, '--http', `127.0.0.1:${port}`]);
    running.push(second.child);
    await provider.forceFlush();
    await provider.shutdown();
    await emulator.setDown(false);

    const delivered = await emulator.waitForEvents(160, 30_000);
    const seen = new Set(delivered.map((e) => Number(e.properties['seq'])));
    assert.deepEqual(
      Array.from({ length: 160 }, (_, i) => i).filter((i) => !seen.has(i)),
      [],
      'no record lost',
    );
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0);
  });
});
