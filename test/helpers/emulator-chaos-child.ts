/**
 * Child process of the emulator chaos test: runs the emulator with seeded random faults (delays, resets before
 * and after processing, hangs, 503, code 2000) and a response delay, so that answers are pending while clients
 * go away. Prints `listening <port>`. On the stdin line `calm` it turns faults and delays off and prints `calm`;
 * when stdin ends it closes the emulator and prints `closed {"requests":n,"resources":[...]}`, then must exit
 * on its own. Any uncaught exception, unhandled rejection (run it with --unhandled-rejections=strict) or
 * unhandled 'error' event prints `FAIL ...` and exits 70.
 *
 * argv[2]: the fault seed.
 */
import { createInterface } from 'node:readline';
import { startEmulator } from '../../src/emulator/index.js';

function fail(kind: string, error: unknown): never {
  process.stderr.write(`FAIL ${kind}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(70);
}
process.on('uncaughtException', (error, origin) => fail(origin, error));
process.on('unhandledRejection', (reason) => fail('unhandledRejection', reason));

const seed = Number(process.argv[2] ?? 1);
const emulator = await startEmulator({ accessToken: 'chaos-token', responseDelayMillis: 20, maxBodyBytes: 64 * 1024 });
emulator.setRandomFaults({
  rate: 0.5,
  seed,
  faults: [
    { kind: 'delay', delayMillis: 40 },
    { kind: 'reset' },
    { kind: 'reset', when: 'after' },
    { kind: 'hang' },
    { kind: 'status', status: 503, retryAfter: 1 },
    { kind: 'code', code: 2000 },
  ],
});
process.stdout.write(`listening ${emulator.port}\n`);

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line !== 'calm') return;
  emulator.setRandomFaults(null);
  emulator.setResponseDelay(0);
  process.stdout.write('calm\n');
});
lines.on('close', () => {
  void (async () => {
    await emulator.close();
    // Sockets destroyed by close() finish closing on the next turns of the loop. (Read after the timer fired:
    // inside its callback a timer still counts as active.)
    await new Promise((resolve) => setTimeout(resolve, 50));
    const resources = process.getActiveResourcesInfo().filter((resource) => resource !== 'PipeWrap' && resource !== 'TTYWrap');
    process.stdout.write(`closed ${JSON.stringify({ requests: emulator.requests.length, resources })}\n`);
  })();
});
