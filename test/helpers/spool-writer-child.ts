/**
 * Child process for the spool crash test: `spool-writer-child.ts <dir> <total> <chunk>` appends records
 * 0 .. total-1 in chunks, printing `appended <count>` after each append resolves (stdout to a pipe is
 * synchronous on Linux, so a printed count is on disk before the parent can see it), then `done`, and then
 * waits to be killed (or for stdin to close).
 */
import { openSpool } from '../../src/spool/index.js';
import { createRecords } from './spool-fixtures.js';

const [dir, totalText = '10000', chunkText = '100'] = process.argv.slice(2);
if (dir === undefined) throw new Error('usage: spool-writer-child.ts <dir> [total] [chunk]');
const total = Number(totalText);
const chunk = Number(chunkText);

process.stdin.resume();
process.stdin.on('end', () => process.exit(0));

const spool = await openSpool({ dir, segmentBytes: 64 * 1024 });
for (let appended = 0; appended < total; ) {
  const count = Math.min(chunk, total - appended);
  const result = await spool.append(createRecords(count, appended));
  if (result.written !== count) throw new Error(`expected ${count} written, got ${JSON.stringify(result)}`);
  appended += count;
  process.stdout.write(`appended ${appended}\n`);
  // let the parent see progress and kill us while we are still writing
  await new Promise((resolve) => setTimeout(resolve, 1));
}
process.stdout.write('done\n');
