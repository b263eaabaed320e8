/**
 * The emulator accepts what Gravity's official SDKs sent (shared/golden captures, replayed as JSON): lenient mode
 * stands in for the service, which took them all.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { startEmulator } from '../../src/emulator/index.js';
import type { Emulator } from '../../src/emulator/index.js';
import type { CollectPayload } from '../../src/mapping/wire-types.js';
import { GOLDEN_DIR } from '../helpers/golden-fixtures.js';

interface Capture {
  body: CollectPayload;
}

const captures = readdirSync(GOLDEN_DIR)
  .filter((name) => name.endsWith('.jsonl'))
  .sort()
  .map((name) => ({
    name,
    bodies: readFileSync(path.join(GOLDEN_DIR, name), 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => (JSON.parse(line) as Capture).body),
  }));

let emulator: Emulator;
before(async () => {
  // The captures' clock, so that their times fall inside the service's window whenever the test runs.
  const capturedAtMillis = captures[0]!.bodies[0]!.event_list[0]!.time;
  emulator = await startEmulator({ now: () => capturedAtMillis });
});
after(() => emulator.close());

describe('emulator: official SDK payloads', () => {
  it('finds the six golden capture files', () => {
    assert.deepEqual(
      captures.map((c) => c.name),
      ['go-batch.jsonl', 'go-debug.jsonl', 'php-batch.jsonl', 'php-debug.jsonl', 'python-batch.jsonl', 'python-debug.jsonl'],
    );
  });

  for (const { name, bodies } of captures) {
    it(`accepts every request of ${name}`, async () => {
      for (const body of bodies) {
        const response = await request(emulator.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        const answer = (await response.body.json()) as { code: number; extra?: unknown };
        assert.equal(response.statusCode, 200);
        assert.equal(answer.code, 0, `${name}: ${JSON.stringify(answer.extra)}`);
      }
    });
  }
});
