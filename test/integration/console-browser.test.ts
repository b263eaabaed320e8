/**
 * The emulator's web console in a real headless Chromium (Debian's package, driven by playwright-core): records
 * sent by an exporter in another process appear live with their fields, strict-mode errors name field and
 * reason, filters, pause and clear work, a fault switched on in the page reaches the exporter's next request
 * and its retry, the NDJSON export re-imports to the same records, and the access token is nowhere in the page
 * or its traffic. Screenshots of each state go to test-output/console/.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { main } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/io.js';
import { startEmulator } from '../../src/emulator/index.js';
import type { AcceptedEvent, Emulator } from '../../src/emulator/index.js';
import { launchBrowser } from '../helpers/browser.js';
import type { Browser } from '../helpers/browser.js';

const TOKEN = 'console-secret-token-7f3a9c41';
const REPO_ROOT = process.cwd();

/** The exporter in its own process (test/helpers/console-exporter-child.ts). */
interface Service {
  emit(records: Array<{ eventName?: string; attributes: Record<string, unknown>; body?: unknown }>): Promise<ServiceStats>;
  close(): Promise<void>;
}
interface ServiceStats {
  sent: number;
  failed: number;
  rejected: number;
}

async function startService(url: string): Promise<Service> {
  const env = { ...process.env, GE_SERVER_URL: url, GE_ACCESS_TOKEN: TOKEN };
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/console-exporter-child.ts'], {
    cwd: REPO_ROOT,
    env,
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const waiting = new Map<number | 'ready', (message: { stats?: ServiceStats }) => void>();
  createInterface({ input: child.stdout }).on('line', (line) => {
    const message = JSON.parse(line) as { id?: number; ready?: boolean; stats?: ServiceStats };
    const key = message.ready === true ? 'ready' : message.id!;
    waiting.get(key)?.(message);
    waiting.delete(key);
  });
  const exited = once(child, 'exit');
  const reply = (key: number | 'ready'): Promise<{ stats?: ServiceStats }> =>
    Promise.race([
      new Promise<{ stats?: ServiceStats }>((resolve) => waiting.set(key, resolve)),
      exited.then(() => Promise.reject(new Error(`the service process exited; stderr: ${stderr}`))),
    ]);
  await reply('ready');
  let nextId = 1;
  return {
    async emit(records) {
      const id = nextId++;
      const answer = reply(id);
      child.stdin.write(`${JSON.stringify({ id, emit: records })}\n`);
      return (await answer).stats!;
    },
    async close() {
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Uncaught errors and Content-Security-Policy violations of the pages of the current test. */
let pageErrors: string[] = [];

/** Open the console and wait until its first snapshot is shown. */
async function openConsole(page: Page, url: string): Promise<void> {
  page.on('pageerror', (error) => pageErrors.push(`${url}: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy|Uncaught/i.test(message.text())) pageErrors.push(`${url}: ${message.text()}`);
  });
  await page.goto(url);
  await page.locator('body[data-ready="true"]').waitFor({ timeout: 5000 });
}

const entry = (page: Page, seq: number) => page.locator(`article.entry[data-seq="${seq}"]`);
const visibleEntrySeqs = (page: Page): Promise<number[]> =>
  page.locator('article.entry:not([hidden])').evaluateAll((elements) => elements.map((e) => Number(e.getAttribute('data-seq'))));
const visibleRecordEvents = (page: Page): Promise<string[]> =>
  page
    .locator('article.entry:not([hidden]) tr.record:not([hidden]) td.event')
    .evaluateAll((cells) => cells.map((c) => c.textContent ?? ''));

function seqsOf(emulator: Emulator, predicate: (clientId: string | undefined) => boolean): number[] {
  return emulator.requests
    .filter((r) => predicate((r.body as { client_id?: string } | undefined)?.client_id))
    .map((r) => r.seq)
    .reverse(); // the page lists the newest first
}

/** The id of the focused element (in-page code is passed as text: the project's types have no DOM). */
const focusedId = (page: Page): Promise<string> => page.evaluate<string>('document.activeElement?.id ?? ""');

let browser: Browser;
let emulator: Emulator;
let service: Service;

before(async () => {
  browser = await launchBrowser();
  emulator = await startEmulator({ strict: true, accessToken: TOKEN });
  service = await startService(emulator.url);
});
after(async () => {
  await service?.close();
  await emulator?.close();
  await browser?.close();
});
beforeEach(() => {
  emulator.clear();
  pageErrors = [];
});
afterEach(async () => {
  for (const page of browser.context.pages()) await page.close();
  assert.deepEqual(pageErrors, [], 'the page ran without errors');
});

describe('emulator web console in Chromium', () => {
  it('shows records sent by an exporter in another process within a second, with their fields', async () => {
    const page = await browser.newPage();
    await openConsole(page, emulator.consoleUrl!);
    assert.equal(await page.locator('#collect-url').textContent(), emulator.url);

    const started = performance.now();
    const sending = service.emit([
      {
        eventName: 'purchase',
        attributes: { 'ge.client_id': 'user-42', amount: 30, 'item.sku': 'sword-01' },
        body: { cart: { items: 2, coupon: 'SPRING' } },
      },
      { attributes: { 'ge.client_id': 'user-42', 'ge.user_op': 'increment', coins: 30 } },
      { eventName: 'level_up', attributes: { 'ge.client_id': 'user-7', 'ge.client_ip': '203.0.113.9', level: 12 } },
    ]);
    const purchaseRow = page.locator('tr.record', { hasText: 'purchase' });
    const levelRow = page.locator('tr.record', { hasText: 'level_up' });
    await purchaseRow.waitFor({ timeout: 1000 });
    await levelRow.waitFor({ timeout: Math.max(1, 1000 - (performance.now() - started)) });
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 1000, `records appeared after ${Math.round(elapsed)} ms`);
    assert.deepEqual(await sending, { ...(await sending), sent: 3, failed: 0 });

    const [user42] = seqsOf(emulator, (c) => c === 'user-42');
    const [user7] = seqsOf(emulator, (c) => c === 'user-7');
    const card = entry(page, user42!);
    assert.equal(await card.locator('.client').textContent(), 'user-42');
    assert.equal(await card.locator('.outcome').textContent(), 'accepted');
    assert.match((await card.locator('.meta .response').textContent())!, /HTTP 200 · code 0 · ok/);
    assert.deepEqual(await card.locator('td.type').allTextContents(), ['track', 'profile']);
    assert.deepEqual(await card.locator('td.event').allTextContents(), ['purchase', 'profile_increment']);
    const summary = (await card.locator('tr.record').first().locator('summary').textContent())!;
    assert.match(summary, /"amount":30/);
    assert.match(summary, /"item_sku":"sword-01"/);
    // Properties expand to the whole JSON.
    await card.locator('tr.record').first().locator('summary').click();
    const expanded = JSON.parse((await card.locator('tr.record').first().locator('pre').textContent())!) as Record<string, unknown>;
    const sent = emulator.events().find((e) => e.event === 'purchase')!;
    assert.deepEqual(expanded, sent.properties);
    // The headers that matter, and client_ip.
    const headerNames = await card.locator('.headers dt').allTextContents();
    for (const name of ['content-type', 'ge-integration-type', 'ge-integration-count']) assert.ok(headerNames.includes(name), `${name} shown`);
    assert.equal(await entry(page, user7!).locator('.meta div', { hasText: 'client_ip' }).locator('dd').textContent(), '203.0.113.9');
    // Counters.
    assert.equal(await page.locator('#count-requests').textContent(), '2');
    assert.equal(await page.locator('#count-records').textContent(), '3');
    await browser.screenshot(page, 'live-1280x800');
  });

  it('shows a strict-mode rejection on the record with the field and the reason, and counts it', async () => {
    const page = await browser.newPage();
    await openConsole(page, emulator.consoleUrl!);
    // Another SDK's request: wrong Content-Type and an over-long string value.
    const body = {
      client_id: 'sdk-user',
      event_list: [
        { type: 'track', event: 'ok_event', time: Date.now(), time_free: false, properties: { n: 1 } },
        { type: 'track', event: 'note', time: Date.now(), time_free: false, properties: { text: 'x'.repeat(3000) } },
      ],
    };
    const answer = await fetch(`${emulator.url}?access_token=${TOKEN}`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify(body),
    });
    assert.equal(((await answer.json()) as { code: number }).code, 1);

    const [seq] = seqsOf(emulator, (c) => c === 'sdk-user');
    const card = entry(page, seq!);
    await card.waitFor({ timeout: 1000 });
    assert.equal(await card.locator('.outcome').textContent(), 'code 1: invalid data');
    // A request-level error...
    const requestError = card.locator(':scope > ul.errors li');
    assert.equal(await requestError.locator('.field').textContent(), 'headers.content-type');
    assert.equal(await requestError.locator('.reason').textContent(), 'strict mode expects application/json, got "text/plain"');
    // ...and a record-level one, under the record it concerns.
    const badRow = card.locator('tr.record.bad');
    assert.equal(await badRow.locator('td.event').textContent(), 'note');
    const recordError = card.locator('tr.record-errors li');
    assert.equal(await recordError.locator('.field').textContent(), 'properties.text');
    assert.equal(await recordError.locator('.reason').textContent(), 'string of 3000 UTF-8 bytes exceeds 2048');
    assert.equal(await card.locator('tr.record').count(), 2);
    assert.equal(await page.locator('#count-rejected').textContent(), '1');
    assert.equal(await page.locator('#count-rejected-records').textContent(), '2');
    assert.equal(await page.locator('#reasons').textContent(), 'code 1: invalid data 1');
    await browser.screenshot(page, 'strict-rejection-1280x800');
  });

  it('filters by client id, event name and type; pauses, resumes and clears', async () => {
    const page = await browser.newPage();
    await openConsole(page, emulator.consoleUrl!);
    await service.emit([
      { eventName: 'purchase', attributes: { 'ge.client_id': 'alice', amount: 1 } },
      { attributes: { 'ge.client_id': 'alice', 'ge.user_op': 'set', plan: 'pro' } },
      { eventName: 'purchase', attributes: { 'ge.client_id': 'bob', amount: 2 } },
      { eventName: 'login', attributes: { 'ge.client_id': 'bob' } },
      { eventName: 'level_up', attributes: { 'ge.client_id': 'carol', level: 3 } },
    ]);
    await page.locator('article.entry').nth(2).waitFor();
    const alice = seqsOf(emulator, (c) => c === 'alice');
    const bob = seqsOf(emulator, (c) => c === 'bob');
    assert.equal(alice.length + bob.length, 2);

    const filters = page.locator('#filters');
    // "/" jumps to the client filter from anywhere.
    await page.locator('body').click({ position: { x: 5, y: 300 } });
    await page.keyboard.press('/');
    assert.equal(await focusedId(page), 'filter-client');
    await page.keyboard.type('BOB');
    assert.deepEqual(await visibleEntrySeqs(page), bob);
    assert.deepEqual(await visibleRecordEvents(page), ['purchase', 'login']);

    await filters.getByLabel('Client id').fill('');
    await filters.getByLabel('Event').fill('purch');
    assert.deepEqual(new Set(await visibleRecordEvents(page)), new Set(['purchase']));
    assert.equal((await visibleRecordEvents(page)).length, 2);

    await filters.getByLabel('Event').fill('');
    await filters.getByLabel('Type').selectOption('profile');
    assert.deepEqual(await visibleRecordEvents(page), ['profile_set']);
    assert.deepEqual(await visibleEntrySeqs(page), alice);

    await filters.getByLabel('Client id').fill('alice');
    await filters.getByLabel('Type').selectOption('track');
    assert.deepEqual(await visibleRecordEvents(page), ['purchase']);
    await browser.screenshot(page, 'filtered-1280x800');

    await filters.getByLabel('Client id').fill('nobody');
    assert.deepEqual(await visibleEntrySeqs(page), []);
    assert.equal(await page.locator('#empty').textContent(), 'None of the 3 requests matches the filters.');
    await filters.getByLabel('Client id').fill('');
    await filters.getByLabel('Type').selectOption('');
    assert.equal((await visibleEntrySeqs(page)).length, 3);

    // Pause: new requests are counted but wait; resume shows them.
    await page.getByRole('button', { name: 'Pause' }).click();
    await service.emit([{ eventName: 'late', attributes: { 'ge.client_id': 'dave' } }]);
    await page.locator('#count-requests', { hasText: '4' }).waitFor({ timeout: 2000 });
    assert.equal(await page.locator('tr.record', { hasText: 'late' }).count(), 0);
    assert.equal(await page.locator('#status').textContent(), 'Paused: 1 new requests waiting');
    assert.equal(await page.getByRole('button', { name: 'Resume' }).getAttribute('aria-pressed'), 'true');
    await page.locator('#pause').focus();
    await page.keyboard.press('Enter'); // keyboard: the button resumes
    await page.locator('tr.record', { hasText: 'late' }).waitFor({ timeout: 1000 });
    assert.equal(await page.locator('#status').textContent(), 'Live');

    // Clear empties the page and the emulator's memory.
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.locator('#count-requests', { hasText: /^0$/ }).waitFor({ timeout: 2000 });
    assert.equal(await page.locator('article.entry').count(), 0);
    assert.equal(emulator.requests.length, 0);
    assert.equal(await page.locator('#empty').isVisible(), true);
  });

  it('a fault switched on in the page fails the exporter\'s next request; its retry succeeds; both are listed', async () => {
    const page = await browser.newPage();
    await openConsole(page, emulator.consoleUrl!);
    const statusForm = page.locator('#fault-status');
    await statusForm.getByLabel('Status').fill('503');
    await statusForm.getByLabel('Next requests').fill('1');
    await statusForm.getByRole('button', { name: 'Queue HTTP status' }).click();
    await page.locator('#queued li', { hasText: 'HTTP 503' }).waitFor({ timeout: 1000 });

    const stats = await service.emit([{ eventName: 'checkout', attributes: { 'ge.client_id': 'retry-user', total: 99 } }]);
    assert.equal(stats.failed, 0);
    const [retried, failed] = seqsOf(emulator, (c) => c === 'retry-user');
    assert.ok(failed !== undefined && retried === failed + 1, `two requests: ${JSON.stringify(emulator.requests.map((r) => r.seq))}`);
    await entry(page, retried).waitFor({ timeout: 1000 });
    assert.equal(await entry(page, failed).locator('.outcome').textContent(), 'HTTP 503');
    assert.equal(await entry(page, failed).locator('.badge.fault').textContent(), 'fault: HTTP 503');
    assert.equal(await entry(page, failed).locator('td.event').textContent(), 'checkout');
    assert.equal(await entry(page, retried).locator('.outcome').textContent(), 'accepted');
    assert.equal(await entry(page, retried).locator('td.event').textContent(), 'checkout');
    assert.equal(await page.locator('#queued li').count(), 0, 'the queued fault was used up');
    assert.equal(await page.locator('#reasons').textContent(), 'HTTP 503 1');
    await page.getByLabel('Problems only').check();
    assert.deepEqual(await visibleEntrySeqs(page), [failed]);
    await page.getByLabel('Problems only').uncheck();

    // Code 2000 for one client: refused until initialised from the page; the exporter's parked retry then lands.
    const clientForm = page.locator('#fault-client');
    await clientForm.getByLabel('Client id').fill('new-player');
    await clientForm.getByLabel('Client id').press('Enter'); // submits the form from the keyboard
    await page.getByRole('button', { name: 'Initialise client new-player' }).waitFor({ timeout: 1000 });
    await service.emit([{ eventName: 'tutorial_done', attributes: { 'ge.client_id': 'new-player' } }]);
    const [refused] = seqsOf(emulator, (c) => c === 'new-player');
    await entry(page, refused!).waitFor({ timeout: 1000 });
    assert.equal(await entry(page, refused!).locator('.outcome').textContent(), 'code 2000: client_id not initialised');
    await browser.screenshot(page, 'fault-retry-1280x800');
    await page.getByRole('button', { name: 'Initialise client new-player' }).click();
    await page.locator('article.entry.ok', { hasText: 'tutorial_done' }).waitFor({ timeout: 5000 });
    assert.equal(await page.locator('#refused li').count(), 0);
    assert.deepEqual(
      emulator.events().map((e) => [e.client_id, e.event]),
      [
        ['retry-user', 'checkout'],
        ['new-player', 'tutorial_done'],
      ],
    );

    // Every switch on at once, as the panel shows it, then off again from the page.
    assert.equal(await page.locator('#fault-active').textContent(), 'No fault is on.');
    const resetForm = page.locator('#fault-reset');
    await resetForm.getByLabel('When').selectOption('after');
    await resetForm.getByLabel('Next requests').fill('2');
    await resetForm.getByRole('button', { name: 'Queue reset' }).click();
    await page.locator('#fault-slow').getByLabel('Delay, ms').fill('1500');
    await page.getByRole('button', { name: 'Slow down' }).click();
    await clientForm.getByLabel('Client id').fill('someone');
    await clientForm.getByRole('button', { name: 'Refuse client' }).click();
    await page.locator('#fault-outage').getByLabel('Seconds').fill('30');
    await page.getByRole('button', { name: 'Start outage' }).click();
    await page.locator('#outage-state', { hasText: /Outage: (30|29) s left/ }).waitFor({ timeout: 1000 });
    assert.equal(await page.locator('#fault-active').textContent(), 'On: 2 queued · responses delayed 1500 ms · 1 client refused · outage.');
    assert.deepEqual(await page.locator('#queued li').allTextContents(), ['connection reset after storing', 'connection reset after storing']);
    await page.evaluate('window.scrollTo(0, 0); document.querySelector("aside").scrollTop = 0');
    await browser.screenshot(page, 'faults-on-1280x800');
    for (const name of ['End outage', 'Respond at once', 'Cancel queued faults', 'Initialise client someone']) {
      await page.getByRole('button', { name }).click();
    }
    await page.locator('#fault-active', { hasText: 'No fault is on.' }).waitFor({ timeout: 1000 });
    assert.equal(await page.locator('#outage-state').textContent(), 'No outage.');
    assert.equal((await service.emit([{ eventName: 'after_faults', attributes: { 'ge.client_id': 'someone' } }])).failed, 0);
  });

  it('exports records as NDJSON that gravity-otel import sends again as the same records, and the exact bodies', async () => {
    const page = await browser.newPage();
    await openConsole(page, emulator.consoleUrl!);
    await service.emit([
      {
        eventName: 'purchase',
        attributes: { 'ge.client_id': 'user-1', 'ge.client_ip': '198.51.100.4', amount: 12.5, tags: ['a', 'b'] },
        body: { cart: { items: 2, coupon: 'SPRING' } },
      },
      { attributes: { 'ge.client_id': 'user-1', 'ge.user_op': 'set_once', first_seen: 'web' } },
      { attributes: { 'ge.client_id': 'user-2', 'ge.user_op': 'uniq_append', badges: ['gold'] } },
      { attributes: { 'ge.client_id': 'user-2', 'ge.user_op': 'unset' }, body: ['first_seen'] },
      { eventName: 'view_page', attributes: { 'ge.client_id': 'user-3', city: '北京' } },
    ]);
    await page.locator('tr.record').nth(4).waitFor({ timeout: 2000 });
    const original = emulator.events();
    assert.equal(original.length, 5);

    const dir = mkdtempSync(path.join(tmpdir(), 'gravity-console-export-'));
    try {
      const [recordsDownload] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Export records (NDJSON)' }).click()]);
      const recordsFile = path.join(dir, recordsDownload.suggestedFilename());
      await recordsDownload.saveAs(recordsFile);
      assert.match(recordsDownload.suggestedFilename(), /^gravity-records-\d{8}T\d{6}Z\.ndjson$/);

      const target = await startEmulator({ accessToken: 'import-token' });
      try {
        let stdout = '';
        const io: CliIo = {
          stdout: { write: (text: string) => (stdout += text) },
          stderr: { write: () => true },
          waitForStop: () => new Promise<string>(() => {}),
        };
        const code = await main(['import', recordsFile, '--url', target.url, '--token', 'import-token'], io);
        assert.equal(code, 0, stdout);
        // The import sends clients in parallel: each client's records keep their order.
        assert.deepEqual(byClient(target.events()), byClient(original));
        assert.equal(target.events().length, original.length);
      } finally {
        await target.close();
      }

      const [bodiesDownload] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Export request bodies' }).click()]);
      const bodiesFile = path.join(dir, 'bodies.ndjson');
      await bodiesDownload.saveAs(bodiesFile);
      const expected = emulator.requests.map((r) => `${r.bodyText}\n`).join('');
      assert.equal(readFileSync(bodiesFile, 'utf8'), expected);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('never shows the access token: not in the page, its requests, responses, event stream or downloads', async () => {
    const page = await browser.newPage();
    const seen: string[] = [];
    const streamMessages: string[] = [];
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    cdp.on('Network.eventSourceMessageReceived', (event: { data: string }) => streamMessages.push(event.data));
    page.on('request', (request) => {
      seen.push(request.url(), JSON.stringify(request.headers()), request.postData() ?? '');
    });
    page.on('response', async (response) => {
      seen.push(JSON.stringify(await response.allHeaders()));
      if (!(response.headers()['content-type'] ?? '').startsWith('text/event-stream')) seen.push(await response.text());
    });
    await openConsole(page, emulator.consoleUrl!);
    await service.emit([{ eventName: 'secret_check', attributes: { 'ge.client_id': 'token-user', n: 1 } }]);
    // A request with a wrong token too: its token must not show either.
    const wrongToken = 'wrong-token-5d1e';
    await fetch(`${emulator.url}?access_token=${wrongToken}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_id: 'intruder', event_list: [{ type: 'track', event: 'x', time: Date.now(), properties: {} }] }),
    });
    await page.locator('article.entry .outcome', { hasText: 'code 1: invalid access_token' }).waitFor({ timeout: 1000 });
    await page.locator('tr.record', { hasText: 'secret_check' }).first().locator('summary').click();
    await page.locator('#fault-slow').getByLabel('Delay, ms').fill('10');
    await page.getByRole('button', { name: 'Slow down' }).click();
    await page.getByRole('button', { name: 'Respond at once' }).click();
    for (const name of ['Export records (NDJSON)', 'Export request bodies']) {
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name }).click()]);
      seen.push(readFileSync((await download.path())!, 'utf8'));
    }
    seen.push(await page.content(), await page.locator('body').innerText());

    const everything = [...seen, ...streamMessages].join('\n');
    assert.ok(streamMessages.some((m) => m.includes('token-user')), 'the event stream was captured');
    assert.ok(everything.includes('secret_check') && everything.includes('intruder'), 'the traffic was captured');
    // The emulator checks the token, so an accepted record proves the exporter sent it.
    assert.ok(emulator.events().some((e) => e.client_id === 'token-user'), 'the exporter sent the token');
    assert.equal(everything.includes(TOKEN), false, 'the access token appeared in the console');
    assert.equal(everything.includes(wrongToken), false, 'a wrong access token appeared in the console');
    assert.equal(everything.includes('access_token='), false);
  });

  it('is readable and usable on a narrow window: one column, no sideways scrolling, every control labelled', async () => {
    await service.emit([
      {
        eventName: 'purchase',
        attributes: { 'ge.client_id': 'narrow-user-with-a-rather-long-identifier', amount: 3, note: 'a fairly long property value '.repeat(4) },
      },
      { attributes: { 'ge.client_id': 'narrow-user-with-a-rather-long-identifier', 'ge.user_op': 'increment', coins: 3 } },
    ]);
    for (const viewport of [
      { width: 1280, height: 800 },
      { width: 400, height: 860 },
    ]) {
      const page = await browser.newPage(viewport);
      await openConsole(page, emulator.consoleUrl!);
      await page.locator('article.entry').first().waitFor();
      const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
      assert.ok(overflow <= 0, `no sideways scrolling at ${viewport.width}px (overflow ${overflow}px)`);
      // Each control's name: aria-label, else its <label>, else its own text.
      const unlabelled = await page.locator('input, select, button, a').evaluateAll((elements) =>
        elements
          .filter((el) => {
            const labels = (el as unknown as { labels?: ArrayLike<{ textContent: string | null }> | null }).labels;
            const name = el.getAttribute('aria-label') ?? (labels && labels.length > 0 ? labels[0]!.textContent : el.textContent);
            return (name ?? '').trim() === '';
          })
          .map((el) => el.outerHTML),
      );
      assert.ok((await page.locator('input, select, button, a').count()) > 20, 'the controls were found');
      assert.deepEqual(unlabelled, []);
      const panelOpen = await page.locator('#faults-panel').evaluate((d) => d.hasAttribute('open'));
      assert.equal(panelOpen, viewport.width > 900, 'the fault panel starts folded only on a narrow window');
      await browser.screenshot(page, viewport.width < 900 ? 'narrow-400' : 'wide-1280x800', { fullPage: viewport.width < 900 });
      // Keyboard: the first Tab reaches the skip link to the list, which moves focus there.
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate<string>('document.activeElement.textContent'), 'Skip to received requests');
      await page.keyboard.press('Enter');
      assert.equal(await focusedId(page), 'list');
      if (viewport.width < 900) {
        await page.locator('#faults-panel > summary').click();
        await page.evaluate('window.scrollTo(0, 0)');
        await browser.screenshot(page, 'narrow-400-faults-open');
      }
    }
  });

  it('npm start -- --keep-open: the quickstart leaves the emulator and its console open until Ctrl+C', async () => {
    const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> };
    assert.match(manifest.scripts['start']!, /node --import tsx examples\/quickstart\.ts$/, 'npm passes --keep-open on to the quickstart');
    const env = { ...process.env };
    delete env['GE_SERVER_URL'];
    delete env['GE_ACCESS_TOKEN'];
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/quickstart.ts', '--keep-open'], { cwd: REPO_ROOT, env });
    let stdout = '';
    child.stderr.resume();
    const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
    try {
      const consoleUrl = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          const match = /Web console: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stdout);
          if (match !== null) resolve(match[1]!);
        });
        void exited.then(() => reject(new Error(`the quickstart exited: ${stdout}`)));
      });
      assert.match(stdout, /sent 11, rejected 0, ignored 1, failed 0/);
      const page = await browser.newPage();
      await openConsole(page, consoleUrl);
      assert.equal(await page.locator('tr.record').count(), 11);
      assert.equal(await page.locator('#count-records').textContent(), '11');
      await browser.screenshot(page, 'quickstart-keep-open-1280x800');
      await page.close();
    } finally {
      child.kill('SIGINT');
    }
    const [code] = await exited;
    assert.equal(code, 0, stdout);
  });
});

/** Records per client id, in order, as {@link comparable} shapes. */
function byClient(events: readonly AcceptedEvent[]): Record<string, unknown[]> {
  const grouped: Record<string, unknown[]> = {};
  for (const event of events) (grouped[event.client_id] ??= []).push(comparable(event));
  return grouped;
}

/** What a record is, apart from the request that carried it. */
function comparable(event: AcceptedEvent): unknown {
  return {
    client_id: event.client_id,
    client_ip: event.client_ip,
    client_ua: event.client_ua,
    type: event.type,
    event: event.event,
    time: event.time,
    time_free: event.time_free,
    properties: event.properties,
  };
}
