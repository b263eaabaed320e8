/**
 * The owner lock `LOCK`: `{"version":1,"pid":…,"lockId":…,"acquiredAtMillis":…}`, the owner's. It is only ever
 * put in place whole, by renaming a complete temp file over it, so nobody reads a half-written lock, and only
 * by the holder of the takeover mutex `LOCK.takeover` (created exclusively: `O_EXCL`, which every file system
 * has, hard links or not), and only while `LOCK` is absent or held by a process that is gone. Whoever finds
 * the mutex taken leaves it to its holder: so of processes racing for a free or stale lock, exactly one gets
 * it, and a live owner's lock is never replaced.
 *
 * A mutex left by a process that died holding it (it is held for a few file operations) is removed once its
 * holder is gone, or, unreadable, once it is older than a few seconds.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { isWriterAlive } from './segment-files.js';

const LOCK_FILE = 'LOCK';
const MUTEX_FILE = 'LOCK.takeover';
const LOCK_VERSION = 1;
const MAX_TAKEOVER_ATTEMPTS = 3;
/** An unreadable lock or mutex younger than this may be one being written (by an older version): left alone. */
const UNREADABLE_GRACE_MILLIS = 5_000;

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
    // not a lock we wrote whole
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

/** Whether a lock or mutex with this text, found at `path`, still has a holder. */
async function isHeld(path: string, text: string): Promise<boolean> {
  const holder = parseLock(text);
  if (holder !== undefined) return isWriterAlive(holder.pid, holder.lockId, holder.acquiredAtMillis);
  const modifiedMillis = await fsp.stat(path).then((stat) => stat.mtimeMs, () => 0);
  return Date.now() - modifiedMillis < UNREADABLE_GRACE_MILLIS;
}

/**
 * Takes the takeover mutex for `lockId`; `false` when another holder has it. A mutex whose holder is gone is
 * moved aside, checked to be the one judged stale (else put back), and removed.
 */
async function acquireMutex(dir: string, lockId: string, content: string): Promise<boolean> {
  const mutexPath = join(dir, MUTEX_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await fsp.open(mutexPath, 'wx');
      try {
        await handle.writeFile(content);
      } finally {
        await handle.close();
      }
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const current = await readText(mutexPath);
    if (current === undefined) continue;
    if (await isHeld(mutexPath, current)) return false;
    const asidePath = join(dir, `${MUTEX_FILE}.${lockId}.stale`);
    try {
      await fsp.rename(mutexPath, asidePath);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    if ((await readText(asidePath)) !== current) {
      // A new holder's mutex, made after our read: give it back (unless yet another one appeared) and leave.
      await fsp.rename(asidePath, mutexPath).catch(() => undefined);
      return false;
    }
    await removeQuietly(asidePath);
  }
  return false;
}

async function releaseMutex(dir: string, content: string): Promise<void> {
  const mutexPath = join(dir, MUTEX_FILE);
  if ((await readText(mutexPath).catch(() => undefined)) === content) await removeQuietly(mutexPath);
}

/**
 * Takes `dir/LOCK` for `lockId` (the spool's writer id, registered as live in this process) if it is free or
 * its holder is gone. `false` when a live holder has it, or another process is taking it over right now.
 */
export async function tryAcquireLock(dir: string, lockId: string): Promise<boolean> {
  const lockPath = join(dir, LOCK_FILE);
  const content = JSON.stringify({ version: LOCK_VERSION, pid: process.pid, lockId, acquiredAtMillis: Date.now() });
  const tempPath = join(dir, `${LOCK_FILE}.${lockId}.tmp`);
  let tempWritten = false;
  try {
    for (let attempt = 0; attempt < MAX_TAKEOVER_ATTEMPTS; attempt++) {
      const current = await readText(lockPath);
      if (current !== undefined) {
        if (parseLock(current)?.lockId === lockId) return true;
        if (await isHeld(lockPath, current)) return false;
      }
      if (!tempWritten) {
        await fsp.writeFile(tempPath, content);
        tempWritten = true;
      }
      if (!(await acquireMutex(dir, lockId, content))) return false;
      try {
        // Under the mutex nobody else changes LOCK: if it is still what we judged free or stale, replace it.
        if ((await readText(lockPath)) !== current) continue;
        await fsp.rename(tempPath, lockPath);
        tempWritten = false;
        return true;
      } finally {
        await releaseMutex(dir, content);
      }
    }
    return false;
  } finally {
    if (tempWritten) await removeQuietly(tempPath);
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
