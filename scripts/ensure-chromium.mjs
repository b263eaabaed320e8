// Before `npm test`: the emulator console's tests drive Debian's Chromium (/usr/bin/chromium) through
// playwright-core, which downloads no browser. Installs the `chromium` package when it is missing and we are
// root (as in CI); otherwise says what to run. It never fails the run itself: the browser tests do, loudly,
// when the browser is still missing.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const CHROMIUM = '/usr/bin/chromium';

if (!existsSync(CHROMIUM)) {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const hasApt = existsSync('/usr/bin/apt-get');
  if (isRoot && hasApt) {
    console.error(`${CHROMIUM} is missing: installing Debian's chromium package for the browser tests…`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    try {
      execFileSync('apt-get', ['update'], { stdio: ['ignore', 'ignore', 'inherit'], env });
      execFileSync('apt-get', ['install', '-y', 'chromium'], { stdio: ['ignore', 'ignore', 'inherit'], env });
    } catch (error) {
      console.error(`Installing chromium failed (${error instanceof Error ? error.message : String(error)}); the browser tests will fail.`);
    }
  } else {
    console.error(
      `${CHROMIUM} is missing and cannot be installed from here (${isRoot ? 'no apt-get' : 'not root'}): ` +
        'run `sudo apt-get install chromium` (Debian) or the browser tests will fail.',
    );
  }
  if (existsSync(CHROMIUM)) console.error(`${CHROMIUM} installed.`);
}
