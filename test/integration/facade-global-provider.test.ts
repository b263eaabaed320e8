/**
 * GravityAnalytics with no logger and no provider uses the global logger provider of whichever OpenTelemetry
 * line is installed (registered through @opentelemetry/api's `logs` on 3.x, @opentelemetry/api-logs on 2.x),
 * and says once when there is none (on stderr, or through diag when a diag logger is registered), instead of
 * dropping records silently.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { OTEL_LINE } from '../helpers/otel-line.js';

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL('../helpers/facade-unregistered-child.ts', import.meta.url));
const NOWHERE = /GravityAnalytics has nowhere to send: no logger or loggerProvider was given and no global OpenTelemetry logger provider is registered/;

describe(`GravityAnalytics and the global logger provider (OpenTelemetry JS ${OTEL_LINE}.x)`, () => {
  for (const withDiagLogger of [false, true]) {
    const where = withDiagLogger ? 'through the registered diag logger, not stderr' : 'on stderr';
    it(`says once ${where} that calls are dropped while nothing is registered, then delivers once a provider is`, async () => {
      const env = { ...process.env, CAPTURE_DIAG: withDiagLogger ? '1' : '0' };
      const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', CHILD], { timeout: 60_000, env });
      const result = JSON.parse(stdout) as { diagWarnings: string[]; misuse: string; delivered: string[] };

      const stderrLines = stderr.split('\n').filter((line) => NOWHERE.test(line));
      if (withDiagLogger) {
        assert.deepEqual(stderrLines, [], stderr);
        assert.equal(result.diagWarnings.length, 1, result.diagWarnings.join('\n'));
        assert.match(result.diagWarnings[0]!, /gravity-otel-exporter\/facade/);
        assert.match(result.diagWarnings[0]!, NOWHERE);
      } else {
        assert.equal(stderrLines.length, 1, stderr);
        assert.match(stderrLines[0]!, /^gravity-otel-exporter.*records are dropped until one is/);
      }
      assert.equal(result.misuse, 'GravityValidationError', 'misuse is still refused while nothing is registered');
      assert.deepEqual(result.delivered, ['delivered_track']);
    });
  }
});
