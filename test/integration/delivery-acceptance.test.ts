/**
 * Scaled-down versions of the delivery acceptance runs (the full ones are `npm run soak`): random 5xx and resets
 * plus an outage, then a stalled endpoint, each in a child process so that its exit is observed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function runSoakScript(script: string, args: string[]): Promise<{ result: Record<string, unknown>; exitedAtMillis: number; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', script, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const killer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} did not finish; stdout: ${stdout}; stderr: ${stderr}`));
    }, 90_000);
    child.on('exit', (code) => {
      clearTimeout(killer);
      const exitedAtMillis = Date.now();
      try {
        resolve({ result: JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as Record<string, unknown>, exitedAtMillis, code });
      } catch {
        reject(new Error(`${script} printed no result; stdout: ${stdout}; stderr: ${stderr}`));
      }
    });
  });
}

describe('delivery acceptance (scaled down)', () => {
  it('delivers every record through ~30% random failures and an outage, duplicates only from resets after processing, and exits promptly', async () => {
    const { result, exitedAtMillis, code } = await runSoakScript('soak/faulty-run.ts', ['1000', '100', '500']);
    assert.equal(result['uniqueDelivered'], 1000);
    assert.equal(result['duplicatesNotFromResetAfter'], 0);
    assert.equal(result['unhandledRejections'], 0);
    assert.equal(code, 0);
    // generous on a loaded machine; the soak run holds it to 1 s
    assert.ok(exitedAtMillis - Number(result['shutdownResolvedAtMillis']) < 2_000);
  });

  it('keeps memory bounded and reports what it gives up on when the endpoint never answers', async () => {
    const { result } = await runSoakScript('soak/stalled-run.ts', ['2000', '3', '0', '1000']);
    const stats = result['statsAfterShutdown'] as { failed: number; dropped: number; buffered: number; received: number };
    assert.equal(stats.buffered, 0);
    assert.equal(stats.failed + stats.dropped, stats.received);
    assert.ok(Number(result['dropWarnings']) + Number(result['warnings']) > 0);
    assert.ok(Number(result['rssPeakGrowthMb']) < 100);
  });
});
