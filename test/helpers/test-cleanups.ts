/**
 * What an integration test opens (temp directories, emulators, exporters, child processes) is closed after
 * it, newest first, even when it fails: push a clean-up to `cleanups` and the file's `afterEach` runs it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'node:test';
import { startEmulator } from '../../src/emulator/index.js';
import type { Emulator } from '../../src/emulator/index.js';

export interface TestCleanups {
  readonly cleanups: Array<() => Promise<void> | void>;
  /** A fresh temp directory, removed after the test. */
  tempDir(): string;
  /** A fresh emulator on 127.0.0.1, closed after the test. */
  emulatorFor(): Promise<Emulator>;
}

/** Registers the file's `afterEach`; call once at the top of a test file. */
export function useTestCleanups(tempPrefix: string): TestCleanups {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return {
    cleanups,
    tempDir() {
      const dir = mkdtempSync(join(tmpdir(), tempPrefix));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      return dir;
    },
    async emulatorFor() {
      const emulator = await startEmulator();
      cleanups.push(() => emulator.close());
      return emulator;
    },
  };
}
