import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diag } from '@opentelemetry/api';
import { runGatewayCommand } from '../../src/cli/gateway-command.js';
import { main } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/io.js';

function captureIo(): CliIo & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    stdout: { write: (text: string) => (io.out += text) },
    stderr: { write: (text: string) => (io.err += text) },
    waitForStop: () => Promise.resolve('SIGTERM'),
  };
  return io;
}

describe('gravity-otel gateway (command line)', () => {
  it('is listed by the CLI and explains its options with --help', async () => {
    const listing = captureIo();
    assert.equal(await main(['--help'], listing), 0);
    assert.match(listing.out, /gateway\s+receive OTLP/);
    const help = captureIo();
    assert.equal(await main(['gateway', '--help'], help), 0);
    for (const flag of ['--http HOST:PORT', '--grpc HOST:PORT', '--ack MODE', '--spool-dir DIR', '--resource-attributes', '--drain-timeout MS', 'GE_GATEWAY_AUTH_TOKEN']) {
      assert.ok(help.out.includes(flag), `help mentions ${flag}`);
    }
  });

  it('answers a usage error with 2 and a configuration it cannot run with 1, saying why', async () => {
    const unknown = captureIo();
    assert.equal(await runGatewayCommand(['--port', '1'], unknown, {}), 2);
    assert.match(unknown.err, /Unknown option '--port'/);
    const drain = captureIo();
    assert.equal(await runGatewayCommand(['--drain-timeout', 'soon'], drain, {}), 2);
    assert.match(drain.err, /--drain-timeout is invalid/);
    const noToken = captureIo();
    assert.equal(await runGatewayCommand(['--http', '127.0.0.1:0', '--grpc', 'none'], noToken, {}), 1);
    assert.match(noToken.err, /accessToken is missing/);
    const noSpool = captureIo();
    assert.equal(await runGatewayCommand(['--ack', 'spooled'], noSpool, { GE_ACCESS_TOKEN: 'token-for-the-cli-test' }), 1);
    assert.match(noSpool.err, /ack "spooled" needs a spool/);
    diag.disable();
  });

  it('starts, prints where it listens, and on the stop signal drains and reports', async () => {
    const io = captureIo();
    const env = { GE_ACCESS_TOKEN: 'token-for-the-cli-test', GE_SERVER_URL: 'http://127.0.0.1:9' };
    assert.equal(await runGatewayCommand(['--http', '127.0.0.1:0', '--grpc', '127.0.0.1:0'], io, env), 0);
    diag.disable();
    assert.match(io.out, /Gravity gateway \(ack: delivered\) delivering to http:\/\/127\.0\.0\.1:9\/event_center\/api\/v1\/event\/collect\//);
    assert.match(io.out, /OTLP\/HTTP {2}http:\/\/127\.0\.0\.1:\d+\/v1\/logs/);
    assert.match(io.out, /OTLP\/gRPC {2}127\.0\.0\.1:\d+/);
    assert.match(io.out, /SIGTERM, draining\nGravity gateway stopped: 0 records received, 0 sent/);
    assert.ok(!io.out.includes('token-for-the-cli-test') && !io.err.includes('token-for-the-cli-test'));
  });
});
