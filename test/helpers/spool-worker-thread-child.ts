/**
 * Worker thread for test/unit/spool-lock.test.ts: opens the spool in workerData.dir (a non-owner when another
 * thread owns it), appends records 0..9 and posts `appended 10 owner=<bool>`; on the message `more` it appends
 * 10..19, closes and posts `closed written=<n>`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openSpool } from '../../src/spool/index.js';
import { createRecords } from '../helpers/spool-fixtures.js';

const spool = await openSpool({ dir: (workerData as { dir: string }).dir });
const first = await spool.append(createRecords(10, 0));
parentPort!.postMessage(`appended ${first.written} owner=${spool.isOwner}`);
parentPort!.on('message', (message: string) => {
  if (message !== 'more') return;
  void (async () => {
    const second = await spool.append(createRecords(10, 10));
    await spool.close();
    parentPort!.postMessage(`closed written=${second.written}`);
  })();
});
