/**
 * Child process for the lock race test: for `durationMillis`, tries to take `dir/LOCK` again and again; each
 * time it gets it, it enters a critical section (creates `dir/HOLDER` exclusively: failing means another
 * process holds the lock too), checks it still holds the lock, leaves, and then "dies" holding it: the lock is
 * rewritten (atomically) as held by `deadPid`, a process that has exited, so the others race to take it over.
 * With `nolink`, hard links fail (`EPERM`) as on file systems without them. Prints one JSON line of counts.
 *
 *   node --import tsx test/helpers/lock-race-child.ts <dir> <durationMillis> <deadPid> [link|nolink]
 */
import { promises as fsp, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { holdsLock, tryAcquireLock } from '../../src/spool/lock.js';
import { newWriterId, registerLiveWriter, unregisterLiveWriter } from '../../src/spool/segment-files.js';

const [dir, durationText, deadPidText, linkMode = 'link'] = process.argv.slice(2);
if (linkMode === 'nolink') {
  (fsp as { link: typeof fsp.link }).link = async () => {
    throw Object.assign(new Error('EPERM: operation not permitted, link'), { code: 'EPERM' });
  };
}
const holderPath = join(dir!, 'HOLDER');
const deadLock = JSON.stringify({ version: 1, pid: Number(deadPidText), lockId: 'deadbeefdeadbeef', acquiredAtMillis: 0 });
const counts = { acquisitions: 0, attempts: 0, overlaps: 0, lost: 0, errors: 0 };
const end = Date.now() + Number(durationText);
while (Date.now() < end) {
  const id = newWriterId();
  registerLiveWriter(id);
  counts.attempts++;
  let got = false;
  try {
    got = await tryAcquireLock(dir!, id);
  } catch {
    counts.errors++;
  }
  if (got) {
    counts.acquisitions++;
    let entered = false;
    try {
      writeFileSync(holderPath, String(process.pid), { flag: 'wx' });
      entered = true;
    } catch {
      counts.overlaps++;
    }
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 2));
    if (!(await holdsLock(dir!, id))) counts.lost++;
    if (entered) rmSync(holderPath, { force: true });
    // Dies holding the lock: it becomes stale.
    const temp = join(dir!, `dead.${process.pid}.tmp`);
    writeFileSync(temp, deadLock);
    renameSync(temp, join(dir!, 'LOCK'));
  } else {
    await new Promise((resolve) => setTimeout(resolve, Math.random()));
  }
  unregisterLiveWriter(id);
}
process.stdout.write(`${JSON.stringify(counts)}\n`);
