/**
 * The shared scenario (../shared/golden/scenario.json) through the real LoggerProvider +
 * BatchLogRecordProcessor + GravityLogRecordExporter against the emulator, compared field by field with what
 * Gravity's Python SDK sent (python-debug.jsonl), ignoring `time`, `$lib` and `$lib_version`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { CollectPayload, GravityEvent } from '../../src/mapping/wire-types.js';
import { VERSION } from '../../src/common/version.js';
import { startExporterHarness } from '../helpers/exporter-harness.js';
import type { ExporterHarness } from '../helpers/exporter-harness.js';
import { loadPythonDebugPayloads, loadScenarioCalls } from '../helpers/golden-fixtures.js';
import type { ScenarioCall } from '../helpers/golden-fixtures.js';
import type { AnyValueMap, LogAttributes, LogRecord } from '../helpers/otel-line.js';

const scenario = { calls: loadScenarioCalls() };
const pythonDebug = loadPythonDebugPayloads();

const USER_OP_BY_SDK_METHOD: Readonly<Record<string, string>> = {
  user_set: 'set',
  user_set_once: 'set_once',
  user_increment: 'increment',
  user_max: 'max',
  user_min: 'min',
  user_append: 'append',
  user_uniq_append: 'uniq_append',
  user_unset: 'unset',
  user_del: 'delete',
};

function isScalar(value: unknown): value is string | number | boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

/**
 * One scenario call as an OTel log record per the ge.* contract: track → eventName + properties (scalars as
 * attributes, nested objects and arrays in the body map); user operations → ge.user_op with the body as
 * properties; unset → the body is the list of keys; delete → no body.
 */
function toLogRecord(call: ScenarioCall): LogRecord {
  if (call.op === 'track') {
    const attributes: LogAttributes = { 'ge.client_id': call.client_id };
    const body: AnyValueMap = {};
    for (const [key, value] of Object.entries(call.properties ?? {})) {
      if (isScalar(value)) attributes[key] = value;
      else body[key] = value as AnyValueMap;
    }
    return { eventName: call.event, attributes, body };
  }
  const op = USER_OP_BY_SDK_METHOD[call.op];
  assert.ok(op !== undefined, `unknown scenario op ${call.op}`);
  const record: LogRecord = { attributes: { 'ge.client_id': call.client_id, 'ge.user_op': op } };
  if (call.properties !== undefined) record.body = call.properties as AnyValueMap;
  return record;
}

function emitScenario(harness: ExporterHarness): number {
  const emittedAtMillis = Date.now();
  for (const call of scenario.calls) harness.logger.emit(toLogRecord(call));
  return emittedAtMillis;
}

/** A record without `time`, and without `$lib`/`$lib_version` on track records. */
function comparable(event: GravityEvent): Omit<GravityEvent, 'time'> {
  const { time: _time, ...rest } = event;
  if (event.type !== 'track') return rest;
  const { $lib: _lib, $lib_version: _libVersion, ...properties } = event.properties;
  return { ...rest, properties };
}

/** What the fields we ignore must be on our side: integer epoch ms near now; `$lib` only on track records. */
function assertIgnoredFields(event: GravityEvent, emittedAtMillis: number): void {
  assert.ok(Number.isInteger(event.time), `time ${event.time} is an integer`);
  assert.ok(Math.abs(event.time - emittedAtMillis) < 60_000, `time ${event.time} is close to ${emittedAtMillis}`);
  if (event.type === 'track') {
    assert.equal(event.properties['$lib'], 'node');
    assert.equal(event.properties['$lib_version'], VERSION);
  } else {
    assert.equal('$lib' in event.properties, false, `no $lib on ${event.event}`);
    assert.equal('$lib_version' in event.properties, false, `no $lib_version on ${event.event}`);
  }
}

test('the golden files hold the 16-call scenario and 16 Python debug requests', () => {
  assert.equal(scenario.calls.length, 16);
  assert.equal(pythonDebug.length, 16);
});

describe('debug mode replays the scenario like the Python debug consumer', () => {
  let harness: ExporterHarness;
  let emittedAtMillis: number;
  before(async () => {
    harness = await startExporterHarness({ emulator: { strict: true }, exporter: { debug: true } });
    emittedAtMillis = emitScenario(harness);
    await harness.flush();
  });
  after(() => harness.close());

  test('sends 16 requests, each accepted, one record each, Turbo-Debug-Mode: 1, uncompressed', () => {
    const { requests } = harness.emulator;
    assert.equal(requests.length, 16);
    for (const request of requests) {
      assert.deepEqual(request.response, { status: 200, body: { code: 0, msg: 'ok', extra: {} } });
      assert.equal(request.headers['turbo-debug-mode'], '1');
      assert.equal(request.compressed, false);
      assert.equal(request.headers['gravity-content-compress'], undefined);
      assert.equal(request.headers['ge-integration-count'], '1');
    }
  });

  /**
   * The k-th request of a client corresponds to the k-th call (and golden line) of that client: a client's
   * requests keep emit order, while different clients' requests may interleave differently.
   */
  function requestFor(callIndex: number): CollectPayload {
    const clientId = scenario.calls[callIndex]!.client_id;
    const k = scenario.calls.slice(0, callIndex).filter((call) => call.client_id === clientId).length;
    const ofClient = harness.emulator.requests.map((r) => r.body as CollectPayload).filter((body) => body.client_id === clientId);
    assert.ok(ofClient[k] !== undefined, `request ${k + 1} of ${clientId}`);
    return ofClient[k];
  }

  for (let i = 0; i < 16; i++) {
    const call = scenario.calls[i]!;
    test(`call ${i + 1} (${call.op} ${call.client_id}${call.event ? ` ${call.event}` : ''}) is sent as python-debug.jsonl line ${i + 1}`, () => {
      const ours = requestFor(i);
      const theirs = pythonDebug[i]!;
      assert.deepEqual(Object.keys(ours).sort(), Object.keys(theirs).sort());
      assert.equal(ours.client_id, theirs.client_id);
      assert.equal(ours.event_list.length, 1);
      assert.deepEqual(comparable(ours.event_list[0]!), comparable(theirs.event_list[0]!));
      assertIgnoredFields(ours.event_list[0]!, emittedAtMillis);
    });
  }
});

describe('batch mode (default options) delivers the scenario without misattribution', () => {
  let harness: ExporterHarness;
  let emittedAtMillis: number;
  before(async () => {
    harness = await startExporterHarness({ emulator: { strict: true } });
    emittedAtMillis = emitScenario(harness);
    await harness.flush();
  });
  after(() => harness.close());

  test('sends exactly 2 gzip requests: c1 with its 12 records and c2 with its 4', () => {
    const { requests } = harness.emulator;
    assert.equal(requests.length, 2);
    for (const request of requests) {
      assert.equal(request.accepted, true);
      assert.equal(request.compressed, true);
      assert.equal(request.headers['turbo-debug-mode'], undefined);
    }
    const counts = requests.map((r) => [(r.body as CollectPayload).client_id, (r.body as CollectPayload).event_list.length]).sort();
    assert.deepEqual(counts, [
      ['c1', 12],
      ['c2', 4],
    ]);
    assert.equal(harness.emulator.events().length, 16);
  });

  for (const clientId of ['c1', 'c2']) {
    test(`${clientId}'s request holds exactly its records, in emit order, equal to the Python debug records`, () => {
      const request = harness.emulator.requests.find((r) => (r.body as CollectPayload).client_id === clientId);
      assert.ok(request !== undefined);
      const ours = (request.body as CollectPayload).event_list;
      const theirs = pythonDebug.filter((body) => body.client_id === clientId).map((body) => body.event_list[0]!);
      assert.deepEqual(ours.map(comparable), theirs.map(comparable));
      for (const event of ours) assertIgnoredFields(event, emittedAtMillis);
    });
  }
});
