/**
 * Child process for the "leaves no handles" test: it leaves the emulator with a hung request, a request in a
 * long fault delay, one in a long response delay and an idle keep-alive connection, closes it (twice), and
 * prints "closed". The parent asserts that this process then exits on its own.
 */
import { startEmulator } from '../../src/emulator/index.js';
import { collectPayload, postCollect, trackRecord } from './collect-client.js';

const emulator = await startEmulator();
await postCollect(emulator.url, collectPayload('u1', [trackRecord()])); // leaves an idle keep-alive socket
emulator.enqueueFaults({ kind: 'delay', delayMillis: 60_000 }, { kind: 'hang' });
const pending = [
  postCollect(emulator.url, collectPayload('u1', [trackRecord()])).catch(() => 'failed'),
  postCollect(emulator.url, collectPayload('u1', [trackRecord()])).catch(() => 'failed'),
];
await emulator.waitForRequests(2); // the first request and the hung one
emulator.setResponseDelay(60_000);
pending.push(postCollect(emulator.url, collectPayload('u1', [trackRecord()])).catch(() => 'failed'));
await emulator.waitForRequests(3);
const waiter = emulator.waitForEvents(100, 60_000).catch((error: Error) => error.message);
await Promise.all([emulator.close(), emulator.close()]);
process.stdout.write(`closed ${JSON.stringify(await Promise.all(pending))} ${await waiter}\n`);
