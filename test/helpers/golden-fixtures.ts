/** The shared golden scenario and the Python SDK's captured payloads (../shared/golden beside the checkout). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CollectPayload } from '../../src/mapping/wire-types.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const GOLDEN_DIR = path.resolve(repoRoot, '..', 'shared', 'golden');

/** One call of scenario.json: an official SDK method and its arguments. */
export interface ScenarioCall {
  op: string;
  client_id: string;
  event?: string;
  properties?: Record<string, unknown> | string[];
}

export function loadScenarioCalls(): ScenarioCall[] {
  return (JSON.parse(readFileSync(path.join(GOLDEN_DIR, 'scenario.json'), 'utf8')) as { calls: ScenarioCall[] }).calls;
}

/** The request bodies python-debug.jsonl recorded, in request order. */
export function loadPythonDebugPayloads(): CollectPayload[] {
  return readFileSync(path.join(GOLDEN_DIR, 'python-debug.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => (JSON.parse(line) as { body: CollectPayload }).body);
}
