/**
 * A real headless Chromium for page tests: Debian's `chromium` package at /usr/bin/chromium, driven by
 * playwright-core (which downloads no browser). `npm test` installs the package first when it is missing
 * (scripts/ensure-chromium.mjs); without it these tests fail, they do not skip.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Screenshots of the pages under test, for a person to look at (gitignored). */
export const SCREENSHOT_DIR = path.resolve('test-output', 'console');

/**
 * Flags for a closed network: without the background-networking ones Chromium's own connections to the
 * outside are refused and slow it down; a fresh profile each run.
 */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Browser {
  readonly context: BrowserContext;
  /** A new tab with the given viewport (1280×800 by default). */
  newPage(viewport?: { width: number; height: number }): Promise<Page>;
  /** Save a PNG of the page as SCREENSHOT_DIR/name.png; returns its path. */
  screenshot(page: Page, name: string, options?: { fullPage?: boolean }): Promise<string>;
  close(): Promise<void>;
}

/** Launch Chromium with a fresh --user-data-dir. */
export async function launchBrowser(): Promise<Browser> {
  assert.ok(
    existsSync(CHROMIUM_PATH),
    `${CHROMIUM_PATH} is missing: the console's browser tests need Debian's chromium package ` +
      '(`npm test` installs it as root; otherwise run `apt-get install chromium`).',
  );
  const profile = mkdtempSync(path.join(tmpdir(), 'gravity-chromium-'));
  // playwright passes the profile as --user-data-dir itself (it refuses the flag in args).
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 800 },
    acceptDownloads: true,
    timeout: 30_000,
  });
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  for (const page of context.pages()) await page.close();
  return {
    context,
    async newPage(viewport = { width: 1280, height: 800 }) {
      const page = await context.newPage();
      await page.setViewportSize(viewport);
      return page;
    },
    async screenshot(page, name, options = {}) {
      const file = path.join(SCREENSHOT_DIR, `${name}.png`);
      await page.screenshot({ path: file, fullPage: options.fullPage ?? false });
      return file;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
