/**
 * The cursor file `CURSOR`: `{"version":1,"offsets":{"<segment id>":<bytes consumed>}}` for segments that are
 * partly consumed. A segment with no entry is unconsumed; a fully consumed one is deleted. Only the owner
 * writes it, through a temp file that is fsynced and renamed over the old one, so a crash leaves either the
 * old or the new cursor, never a torn one.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';

const CURSOR_FILE = 'CURSOR';
const CURSOR_VERSION = 1;

/** Consumed byte offsets by segment id. */
export type CursorOffsets = ReadonlyMap<string, number>;

/** Reads the cursor; a missing or unreadable one means nothing is consumed (at-least-once: replay, never lose). */
export async function readCursor(dir: string): Promise<Map<string, number>> {
  const offsets = new Map<string, number>();
  let text: string;
  try {
    text = await fsp.readFile(join(dir, CURSOR_FILE), 'utf8');
  } catch {
    return offsets;
  }
  try {
    const json = JSON.parse(text) as { version?: unknown; offsets?: unknown };
    if (json.version !== CURSOR_VERSION || typeof json.offsets !== 'object' || json.offsets === null) return offsets;
    for (const [id, offset] of Object.entries(json.offsets as Record<string, unknown>)) {
      if (typeof offset === 'number' && Number.isSafeInteger(offset) && offset > 0) offsets.set(id, offset);
    }
  } catch {
    // a corrupt cursor replays everything rather than guessing
  }
  return offsets;
}

/** Durably replaces the cursor with `offsets` (write temp, fsync, rename). */
export async function writeCursor(dir: string, offsets: CursorOffsets, tempSuffix: string): Promise<void> {
  const json = JSON.stringify({ version: CURSOR_VERSION, offsets: Object.fromEntries(offsets) });
  const tempPath = join(dir, `${CURSOR_FILE}.${tempSuffix}.tmp`);
  const handle = await fsp.open(tempPath, 'w');
  try {
    await handle.writeFile(json);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fsp.rename(tempPath, join(dir, CURSOR_FILE));
}

/** Removes temp files a crashed owner left behind (only an owner writes them, so a new owner may). */
export async function removeCursorTemps(dir: string): Promise<void> {
  for (const name of await fsp.readdir(dir)) {
    if (name.startsWith(`${CURSOR_FILE}.`) && name.endsWith('.tmp')) await fsp.rm(join(dir, name), { force: true });
  }
}
