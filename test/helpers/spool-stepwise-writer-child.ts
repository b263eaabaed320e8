/**
 * Child for test/integration/spool-crash.test.ts (a writer that dies right after the owner listed it): `<dir>` opens the spool (as a non-owner), appends
 * records 0..9 and prints `appended 10`; on a line `more` on stdin it appends 10..19 and prints `appended 20`;
 * then it idles until killed.
 */
import { openSpool } from '../../src/spool/index.js';
import { createRecords } from '../helpers/spool-fixtures.js';

const [dir] = process.argv.slice(2);
const spool = await openSpool({ dir: dir! });
await spool.append(createRecords(10, 0));
process.stdout.write(`appended 10 owner=${spool.isOwner}\n`);
process.stdin.setEncoding('utf8');
process.stdin.on('data', (text: string) => {
  if (!text.includes('more')) return;
  void spool.append(createRecords(10, 10)).then(() => process.stdout.write('appended 20\n'));
});
setInterval(() => undefined, 60_000);
