import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Runs an example as a user would (`node --import tsx examples/x.ts`) with GE_SERVER_URL/GE_ACCESS_TOKEN
 * unset (then `extraEnv`), so it starts its own emulator; resolves with its stdout.
 */
export async function runExample(file: string, extraEnv: Readonly<Record<string, string>> = {}): Promise<string> {
  // The examples import 'gravity-otel-exporter', which resolves to dist/: `npm test` builds first.
  assert.ok(existsSync('dist/esm/index.js'), 'dist/ is missing: run `npm run build` before these tests');
  const env = { ...process.env };
  delete env['GE_SERVER_URL'];
  delete env['GE_ACCESS_TOKEN'];
  Object.assign(env, extraEnv);
  const { stdout } = await run(process.execPath, ['--import', 'tsx', file], { env, timeout: 60_000 });
  return stdout;
}
