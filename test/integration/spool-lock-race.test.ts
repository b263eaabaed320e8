/**
 * Three processes racing for the spool's lock, again and again: each time one gets it, it checks that nobody
 * else holds it meanwhile, then dies holding it (its lock goes stale), and the others race to take it over.
 * Never two owners at once, never a live owner's lock taken: with hard links, and on a file system without
 * them (`link` refused).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createTempDir } from '../helpers/spool-fixtures.js';

const CHILD = fileURLToPath(new URL('../helpers/lock-race-child.ts', import.meta.url));
const RACE_MILLIS = 2_500;

interface RaceCounts {
  acquisitions: number;
  attempts: number;
  overlaps: number;
  lost: number;
  errors: number;
}

function runChild(dir: string, deadPid: number, linkMode: 'link' | 'nolink'): Promise<RaceCounts> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, String(RACE_MILLIS), String(deadPid), linkMode], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('exit', (code) => {
      try {
        resolve(JSON.parse(out.trim()) as RaceCounts);
      } catch {
        reject(new Error(`lock race child exited with ${code}: ${out} ${err}`));
      }
    });
  });
}

describe('spool lock: three processes racing', { concurrency: true }, () => {

  for (const linkMode of ['link', 'nolink'] as const) {
    it(`never lets two processes hold the lock at once, and never takes a live owner's lock${linkMode === 'nolink' ? ' (no hard links)' : ''}`, async (t) => {
      const temp = createTempDir();
      t.after(() => temp.remove());
      const deadPid = spawnSync(process.execPath, ['-e', '']).pid!;
      writeFileSync(join(temp.dir, 'LOCK'), JSON.stringify({ version: 1, pid: deadPid, lockId: 'deadbeefdeadbeef', acquiredAtMillis: 0 }));
      const results = await Promise.all([0, 1, 2].map(() => runChild(temp.dir, deadPid, linkMode)));
      t.diagnostic(JSON.stringify(results));
      for (const result of results) {
        assert.deepEqual({ overlaps: result.overlaps, lost: result.lost, errors: result.errors }, { overlaps: 0, lost: 0, errors: 0 });
        assert.ok(result.acquisitions > 0, 'each process got the lock at times');
      }
      assert.ok(results.reduce((n, r) => n + r.acquisitions, 0) >= 30, 'the lock changed hands many times');
    });
  }
});
