/**
 * Child process of the closed-stderr test: reports a line every few milliseconds (each a new cause, so none is
 * held back) while its parent has closed the read end of its stderr, then prints `still alive` on stdout.
 */
import { createLogger } from '../../src/common/diag.js';

const log = createLogger('closed-stderr');
let sent = 0;
const timer = setInterval(() => {
  log.report(`cause-${sent}`, `line ${sent}`);
  if (++sent === 100) {
    clearInterval(timer);
    process.stdout.write('still alive\n');
  }
}, 3);
