/**
 * The access token never appears in diag output (level ALL), in ExportResult errors or in thrown errors,
 * whatever happens: success, rejection, HTTP errors, network errors, bad configuration.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { ExportResult } from '@opentelemetry/core';
import { resolveConfig } from '../../src/config/resolve-config.js';
import { startEmulator } from '../../src/emulator/index.js';
import type { Emulator } from '../../src/emulator/index.js';
import { GravityLogRecordExporter } from '../../src/index.js';
import { captureDiag } from '../helpers/diag-capture.js';
import type { DiagCapture } from '../helpers/diag-capture.js';
import { exportOnce } from '../helpers/export-once.js';
import { startExporterHarness } from '../helpers/exporter-harness.js';
import { createTrackRecord } from '../helpers/record-builders.js';

const TOKEN = 'Zq9-SECRET-token-7f3a1c';
const URL_TOKEN = 'Urlq-SECRET-token-44b2e9';
const SECRETS = [TOKEN, URL_TOKEN, encodeURIComponent(TOKEN), encodeURIComponent(URL_TOKEN)];

function assertNoSecret(text: string, where: string): void {
  for (const secret of SECRETS) assert.ok(!text.includes(secret), `${where} contains the token: ${text}`);
}

/** Every message in an error and its causes. */
function messagesOf(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 5; depth++) {
    parts.push(`${current.name}: ${current.message}`);
    current = current.cause;
  }
  return parts.join('\n');
}

describe('the access token is never logged or put in an error', () => {
  let capture: DiagCapture;
  let emulator: Emulator;
  const results: ExportResult[] = [];
  const thrown: unknown[] = [];

  before(async () => {
    capture = captureDiag();
    emulator = await startEmulator({ accessToken: TOKEN, uninitialisedClients: ['c-new'] });
    const noRetry = { retry: { maxAttempts: 1 }, clientInitWaitMillis: 0 };
    const exporter = new GravityLogRecordExporter({ url: emulator.url, accessToken: TOKEN, ...noRetry });
    const viaUrl = new GravityLogRecordExporter({ url: `${emulator.url}?access_token=${encodeURIComponent(TOKEN)}`, ...noRetry });
    const wrongToken = new GravityLogRecordExporter({ url: `${emulator.url}?access_token=${URL_TOKEN}`, ...noRetry });
    const run = async (target: GravityLogRecordExporter, records = [createTrackRecord('c1')]) => {
      results.push((await exportOnce(target, records)).result);
    };

    await run(exporter); // success
    await run(viaUrl); // success, token from the URL option
    await run(wrongToken); // code 1: invalid access_token
    await run(exporter, [createTrackRecord('c1', {}, { timestamp: Date.now() - 30 * 24 * 3600 * 1000 })]); // code 1: invalid data
    await run(exporter, [createTrackRecord('c-new')]); // code 2000
    await run(exporter, [createTrackRecord(''), createTrackRecord('c1', { 'bad key': 1 }), createTrackRecord('c1')]); // rejected records
    for (const status of [500, 429, 404, 401]) {
      emulator.setRandomFaults({ rate: 1, faults: [{ kind: 'status', status, body: `echo ${TOKEN}` }], seed: 1 });
      await run(exporter);
    }
    emulator.setRandomFaults({ rate: 1, faults: [{ kind: 'reset' }], seed: 1 });
    await run(exporter);
    emulator.setRandomFaults(null);
    await emulator.setDown(true);
    await run(exporter); // ECONNREFUSED
    await run(viaUrl);
    await emulator.setDown(false);

    // The real provider pipeline, including OTel's own error handler for failed exports.
    const harness = await startExporterHarness({ exporter: { accessToken: TOKEN, ...noRetry } });
    harness.emulator.setRandomFaults({ rate: 1, faults: [{ kind: 'status', status: 503 }], seed: 1 });
    harness.logger.emit({ eventName: 'e', attributes: { 'ge.client_id': 'c1' } });
    await harness.flush();
    await harness.close();

    for (const target of [exporter, viaUrl, wrongToken]) await target.shutdown();
    results.push((await exportOnce(exporter, [createTrackRecord('c1')])).result); // after shutdown

    // Bad configuration, in code and in env: thrown, or (env values that do not decide where data goes) warned.
    const attempts: Array<() => unknown> = [
      () => new GravityLogRecordExporter({ url: `ftp://gravity.test/?access_token=${TOKEN}` }),
      () => new GravityLogRecordExporter({ url: `http://gravity.test:99999/?access_token=${TOKEN}` }),
      () => new GravityLogRecordExporter({ url: `http://user:${TOKEN}@gravity.test/` }),
      () => new GravityLogRecordExporter({ accessToken: TOKEN, timeoutMillis: -1 }),
      () => new GravityLogRecordExporter({ accessToken: TOKEN, compression: TOKEN as never }),
      () => new GravityLogRecordExporter({ accessToken: TOKEN, debug: TOKEN as never }),
      () => resolveConfig({}, { GE_SERVER_URL: 'http://gravity.test/' }),
      () => resolveConfig({}, { GE_ACCESS_TOKEN: TOKEN, GE_SERVER_URL: `ftp://gravity.test/?access_token=${TOKEN}` }),
      () => resolveConfig({}, { GE_ACCESS_TOKEN: TOKEN, GE_DEBUG: TOKEN }),
      () => resolveConfig({}, { GE_ACCESS_TOKEN: TOKEN, GE_SERVER_URL: TOKEN }),
    ];
    for (const attempt of attempts) {
      try {
        attempt();
      } catch (error) {
        thrown.push(error);
      }
    }
    // Bad env values that only warn.
    resolveConfig({}, { GE_ACCESS_TOKEN: TOKEN, GE_COMPRESSION: TOKEN, GE_TIMEOUT_MILLIS: TOKEN, GE_DIAGNOSTICS: TOKEN });
  });

  after(async () => {
    capture.stop();
    await emulator.close();
  });

  test('the scenario produced successes, failures, rejections, warnings and thrown errors', () => {
    assert.ok(results.some((r) => r.error === undefined));
    assert.ok(results.filter((r) => r.error !== undefined).length >= 8);
    assert.ok(capture.at('warn').length >= 5, capture.all());
    assert.ok(capture.lines.some((line) => line.level === 'debug'), 'debug lines were captured too');
    assert.equal(thrown.length, 10);
  });

  test('no diag line at level ALL contains the token', () => {
    for (const line of capture.lines) assertNoSecret(line.text, `diag ${line.level} line`);
  });

  test('no ExportResult error message (or cause) contains the token', () => {
    for (const result of results) if (result.error !== undefined) assertNoSecret(messagesOf(result.error), 'ExportResult.error');
  });

  test('no thrown configuration error contains the token', () => {
    for (const error of thrown) assertNoSecret(messagesOf(error), 'thrown error');
  });
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const cases: Array<[string, string, (port: number, token: string) => string]> = [
  ['another query parameter', "Ab~cd!ef'gh(ij)kl*mn", (port, token) => `http://127.0.0.1:${port}/collect/?app=${encodeURIComponent(token)}&access_token=${encodeURIComponent(token)}`],
  ['a path segment', 'tok en+with/slash=eq', (port, token) => `http://127.0.0.1:${port}/apps/${token}/collect/?access_token=${encodeURIComponent(token)}`],
];

describe('the token in other encodings of the configured URL (another query parameter, a path segment)', () => {
  for (const [where, token, makeUrl] of cases) {
    test(`a token also in ${where} stays out of diag output`, async () => {
      const url = makeUrl(await closedPort(), token);
      const capture = captureDiag();
      try {
        const exporter = new GravityLogRecordExporter({ url, retry: { maxAttempts: 1 } });
        await exportOnce(exporter, [createTrackRecord('c1')]);
        await exporter.shutdown();
      } finally {
        capture.stop();
      }
      const forms = [...new Set([token, encodeURIComponent(token), new URLSearchParams({ a: token }).toString().slice(2), encodeURI(token)])];
      for (const line of capture.lines) {
        for (const form of forms) assert.ok(!line.text.includes(form), `diag ${line.level} line contains the token as ${JSON.stringify(form)}: ${line.text}`);
      }
    });
  }
});
