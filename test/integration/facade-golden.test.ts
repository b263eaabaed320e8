/**
 * The facade replaying the shared golden scenario produces, through the real exporter in debug mode, the
 * payloads Gravity's Python SDK sent (python-debug.jsonl), ignoring time, $lib and $lib_version.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { GravityAnalytics } from '../../src/index.js';
import { startExporterHarness } from '../helpers/exporter-harness.js';
import type { ExporterHarness } from '../helpers/exporter-harness.js';
import { loadPythonDebugPayloads, loadScenarioCalls } from '../helpers/golden-fixtures.js';
import type { ScenarioCall } from '../helpers/golden-fixtures.js';

interface Payload {
  client_id: string;
  event_list: Array<{ time: number; properties: Record<string, unknown> } & Record<string, unknown>>;
}

function withoutVolatileFields(payload: Payload): unknown {
  return {
    ...payload,
    event_list: payload.event_list.map(({ time, properties, ...rest }) => {
      assert.equal(Number.isInteger(time), true, 'time is integer epoch milliseconds');
      const { $lib, $lib_version, ...kept } = properties;
      return { ...rest, properties: kept };
    }),
  };
}

function byClient(payloads: readonly Payload[]): Map<string, unknown[]> {
  const result = new Map<string, unknown[]>();
  for (const payload of [...payloads].sort((x, y) => x.client_id.localeCompare(y.client_id))) {
    const list = result.get(payload.client_id) ?? [];
    list.push(withoutVolatileFields(payload));
    result.set(payload.client_id, list);
  }
  return result;
}

function replay(ge: GravityAnalytics, call: ScenarioCall): void {
  const properties = call.properties as Record<string, never>;
  switch (call.op) {
    case 'track':
      return ge.track(call.client_id, call.event!, properties);
    case 'user_set':
      return ge.userSet(call.client_id, properties);
    case 'user_set_once':
      return ge.userSetOnce(call.client_id, properties);
    case 'user_increment':
      return ge.userIncrement(call.client_id, properties);
    case 'user_max':
      return ge.userMax(call.client_id, properties);
    case 'user_min':
      return ge.userMin(call.client_id, properties);
    case 'user_append':
      return ge.userAppend(call.client_id, properties);
    case 'user_uniq_append':
      return ge.userUniqAppend(call.client_id, properties);
    case 'user_unset':
      return ge.userUnset(call.client_id, call.properties as string[]);
    case 'user_del':
      return ge.userDelete(call.client_id);
    default:
      throw new Error(`scenario op ${call.op} has no facade method`);
  }
}

let harness: ExporterHarness;
before(async () => {
  harness = await startExporterHarness({ exporter: { debug: true } });
});
after(() => harness.close());

test('the facade replaying the golden scenario sends what the Python SDK sent, request by request', async () => {
  const python = loadPythonDebugPayloads() as unknown as Payload[];
  const ge = new GravityAnalytics({ loggerProvider: harness.provider });

  for (const call of loadScenarioCalls()) replay(ge, call);
  await ge.flush();

  const requests = harness.emulator.requests;
  assert.equal(requests.length, python.length);
  // Requests of different clients may overtake each other; each client's requests keep call order.
  assert.deepEqual(
    byClient(requests.map((r) => r.body as Payload)),
    byClient(python),
  );
  // The Python debug consumer sends Turbo-Debug-Mode: 1 on every request; so must we.
  assert.deepEqual(
    requests.map((r) => r.headers['turbo-debug-mode']),
    python.map(() => '1'),
  );
  const tracks = harness.emulator.events().filter((e) => e.type === 'track');
  assert.deepEqual(
    tracks.map((e) => e.properties['$lib']),
    tracks.map(() => 'node'),
  );
});
