/**
 * The fallback sink of the package's loggers: used only while no OTel diag logger is registered, rate-limited
 * per cause with the count of what was held back, redacted, and never able to break the caller.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { createLogger, createThrottle, isDiagLoggerRegistered, registerSecret } from '../../src/common/diag.js';
import { captureDiag } from '../helpers/diag-capture.js';

afterEach(() => diag.disable());

/** A clock and timer queue the test moves by hand. */
function manualTime() {
  let nowMillis = 1_000_000;
  const timers: Array<{ at: number; run: () => void; cancelled: boolean }> = [];
  return {
    now: () => nowMillis,
    schedule: (run: () => void, millis: number) => {
      const timer = { at: nowMillis + millis, run, cancelled: false };
      timers.push(timer);
      return timer as unknown as NodeJS.Timeout;
    },
    cancel: (handle: NodeJS.Timeout) => {
      (handle as unknown as { cancelled: boolean }).cancelled = true;
    },
    advance(millis: number) {
      nowMillis += millis;
      for (const timer of timers.splice(0)) {
        if (timer.cancelled) continue;
        if (timer.at <= nowMillis) timer.run();
        else timers.push(timer);
      }
    },
  };
}

describe('createThrottle', () => {
  test('writes the first line of a cause, holds the rest of the interval back, then writes their count', () => {
    const time = manualTime();
    const lines: string[] = [];
    const throttle = createThrottle((line) => lines.push(line), { intervalMillis: 60_000, ...time });
    throttle.write('a', 'warn', 'A failed (1)');
    throttle.write('a', 'warn', 'A failed (2)');
    throttle.write('b', 'warn', 'B failed');
    time.advance(10_000);
    throttle.write('a', 'warn', 'A failed (3)');
    assert.deepEqual(lines, ['A failed (1)', 'B failed']);
    time.advance(50_000);
    assert.deepEqual(lines, ['A failed (1)', 'B failed', 'A failed (3) (2 more like this in the last 60 s)']);
    // A new interval began with that line: the next one is held back again.
    throttle.write('a', 'warn', 'A failed (4)');
    assert.equal(lines.length, 3);
    time.advance(60_000);
    assert.equal(lines.at(-1), 'A failed (4) (1 more like this in the last 60 s)');
    // A quiet interval ends the cause: the next line is written at once.
    time.advance(60_000);
    throttle.write('a', 'warn', 'A failed (5)');
    assert.equal(lines.at(-1), 'A failed (5)');
  });

  test('flush writes the counts held back (the process is exiting)', () => {
    const time = manualTime();
    const lines: string[] = [];
    const throttle = createThrottle((line) => lines.push(line), { intervalMillis: 60_000, ...time });
    throttle.write('a', 'warn', 'A');
    time.advance(4_000);
    throttle.write('a', 'warn', 'A');
    throttle.flush();
    assert.deepEqual(lines, ['A', 'A (1 more like this in the last 4 s)']);
    time.advance(60_000);
    assert.equal(lines.length, 2, 'nothing is written twice');
  });

  test('a sink that throws does not reach the caller', () => {
    const throttle = createThrottle(() => {
      throw new Error('closed');
    });
    assert.doesNotThrow(() => throttle.write('a', 'warn', 'A'));
  });
});

describe('createLogger with a sink', () => {
  test('warnings and reports go to the sink while no diag logger is registered; debug and info do not', () => {
    assert.equal(isDiagLoggerRegistered(), false);
    const lines: Array<[string, string]> = [];
    const log = createLogger('unit', (line, level) => lines.push([level, line]));
    log.debug('debug line');
    log.info('info line');
    log.warn('a warning about 3 records');
    log.error('a bug');
    log.report('attempt_failed:http_503', 'first attempt failed: HTTP 503', 'debug');
    assert.deepEqual(lines, [
      ['warn', 'gravity-otel-exporter: a warning about 3 records'],
      ['error', 'gravity-otel-exporter: error: a bug'],
      ['warn', 'gravity-otel-exporter: first attempt failed: HTTP 503'],
    ]);
  });

  test('warnings that differ only in their numbers are one cause', () => {
    const lines: string[] = [];
    const log = createLogger('unit', (line) => lines.push(line));
    log.warn('7 of 9 records rejected');
    log.warn('8 of 12 records rejected');
    log.warn('something else');
    assert.deepEqual(lines, ['gravity-otel-exporter: 7 of 9 records rejected', 'gravity-otel-exporter: something else']);
  });

  test('with a diag logger registered it goes to diag only, at the level given', () => {
    const capture = captureDiag();
    assert.equal(isDiagLoggerRegistered(), true);
    const lines: string[] = [];
    const log = createLogger('unit', (line) => lines.push(line));
    log.warn('a warning');
    log.report('cause', 'a report', 'debug');
    log.report('cause', 'a report again', 'debug');
    assert.deepEqual(lines, []);
    assert.deepEqual(capture.at('warn'), ['gravity-otel-exporter/unit a warning']);
    assert.deepEqual(
      capture.at('debug').filter((line) => line.startsWith('gravity-otel-exporter/')),
      ['gravity-otel-exporter/unit a report', 'gravity-otel-exporter/unit a report again'],
    );
    capture.stop();
    assert.equal(isDiagLoggerRegistered(), false);
  });

  test('a diag logger at level NONE still counts as registered: the user chose silence', () => {
    diag.setLogger({ error() {}, warn() {}, info() {}, debug() {}, verbose() {} }, DiagLogLevel.NONE);
    const lines: string[] = [];
    createLogger('unit', (line) => lines.push(line)).warn('quiet');
    assert.deepEqual(lines, []);
  });

  test("'off' writes nothing; the lines never carry a registered secret", () => {
    registerSecret('Sink-SECRET-token-77');
    const lines: string[] = [];
    createLogger('unit', 'off').warn('x');
    const log = createLogger('unit', (line) => lines.push(line));
    log.warn('sent with Sink-SECRET-token-77', new Error('echo Sink-SECRET-token-77'));
    assert.deepEqual(lines, ['gravity-otel-exporter: sent with [REDACTED]: Error: echo [REDACTED]']);
  });
});
