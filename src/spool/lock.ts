/**
 * The owner lock `LOCK`: `{"version":1,"pid":…,"lockId":…,"acquiredAtMillis":…}`. It is created complete
 * (written to a temp file, then hard-linked into place, which fails if it exists), so nobody ever reads a
 * half-written lock. A lock whose holder is gone is taken over: moved aside with an atomic rename, checked to
 * be the one judged stale (else put back), then replaced.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { isWriterAlive } from './segment-files.js';

const LOCK_FILE = 'LOCK';
const LOCK_VERSION = 1;
const MAX_TAKEOVER_ATTEMPTS = 3;

interface LockContent {
  readonly pid: number;
  readonly lockId: string;
  /** When it was taken (epoch ms); 0 when unknown (treated as old). */
  readonly acquiredAtMillis: number;
}

function parseLock(text: string): LockContent | undefined {
  try {
    const json = JSON.parse(text) as Record<string, unknown>;
    if (typeof json.pid === 'number' && Number.isSafeInteger(json.pid) && json.pid > 0 && typeof json.lockId === 'string') {
      const acquiredAtMillis = typeof json.acquiredAtMillis === 'number' && Number.isFinite(json.acquiredAtMillis) ? json.acquiredAtMillis : 0;
      return { pid: json.pid, lockId: json.lockId, acquiredAtMillis };
    }
  } catch {
    // not a lock we wrote: treated as stale
  }
  return undefined;
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await fsp.readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function removeQuietly(path: string): Promise<void> {
  await fsp.rm(path, { force: true }).catch(() => undefined);
}

/** Creates `LOCK` from `tempPath` unless it exists; `false` when it exists. */
async function createLockFile(dir: string, tempPath: string, content: string): Promise<boolean> {
  const lockPath = join(dir, LOCK_FILE);
  try {
    await fsp.link(tempPath, lockPath);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS' && code !== 'EXDEV') throw error;
  }
  // file systems without hard links: O_EXCL create (a crash between create and write leaves a corrupt, hence stale, lock)
  try {
    await fsp.writeFile(lockPath, content, { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/**
 * Takes `dir/LOCK` for `lockId` (the spool's writer id, registered as live in this process) if it is free or
 * its holder is gone. `false` when a live holder has it.
 */
export async function tryAcquireLock(dir: string, lockId: string): Promise<boolean> {
  const lockPath = join(dir, LOCK_FILE);
  const tempPath = join(dir, `${LOCK_FILE}.${lockId}.tmp`);
  const asidePath = join(dir, `${LOCK_FILE}.${lockId}.stale`);
  const content = JSON.stringify({ version: LOCK_VERSION, pid: process.pid, lockId, acquiredAtMillis: Date.now() });
  await fsp.writeFile(tempPath, content);
  try {
    for (let attempt = 0; attempt < MAX_TAKEOVER_ATTEMPTS; attempt++) {
      if (await createLockFile(dir, tempPath, content)) return true;
      const current = await readText(lockPath);
      if (current === undefined) continue;
      const holder = parseLock(current);
      if (holder !== undefined && holder.lockId === lockId) return true;
      if (holder !== undefined && isWriterAlive(holder.pid, holder.lockId, holder.acquiredAtMillis)) return false;
      try {
        await fsp.rename(lockPath, asidePath);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw error;
      }
      if ((await readText(asidePath)) !== current) {
        // another process took the stale lock over between our read and our rename: give it back
        await fsp.link(asidePath, lockPath).catch(() => undefined);
        return false;
      }
    }
    return false;
  } finally {
    await removeQuietly(tempPath);
    await removeQuietly(asidePath);
  }
}

/** Whether `dir/LOCK` still names `lockId` (an owner checks before it drains, so a lost lock is noticed). */
export async function holdsLock(dir: string, lockId: string): Promise<boolean> {
  const current = await readText(join(dir, LOCK_FILE)).catch(() => undefined);
  return current !== undefined && parseLock(current)?.lockId === lockId;
}

/** Removes `dir/LOCK` if it names `lockId`. */
export async function releaseLock(dir: string, lockId: string): Promise<void> {
  if (await holdsLock(dir, lockId)) await removeQuietly(join(dir, LOCK_FILE));
}
