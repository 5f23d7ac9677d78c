// The development server's inspector in a real browser: headless Chromium (Debian's
// /usr/bin/chromium) driven by Playwright, against `guestbook --serve` (a debug build: the
// development server is left out of release builds). Started by run.sh, which sets
// SERVE_URL (the dev server's root) and SCREENSHOT_DIR; run with `node --test`.
//
// What it proves, as a student sees it: after signing the guestbook, /_cgi/ lists the
// requests (the GET of the page, the POST answered 303, the GET it redirected to); the
// POST's page shows the CGI variables the script received (REQUEST_METHOD, CONTENT_TYPE,
// CONTENT_LENGTH, the cookie), its standard input (the urlencoded form, shown as text),
// and the raw head of its response (Status: 303, Location); a forged POST's page shows
// the line the script wrote to standard error; what a visitor typed is never markup.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, request } from 'playwright-core';

const SERVE_URL = process.env.SERVE_URL;
const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR ?? join(dirname(fileURLToPath(import.meta.url)), '../../target/browser');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

// As in guestbook.test.mjs: what the closed network needs.
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

// Unique per run: the development server's children share one guestbook file.
const MARK = `${process.pid}-${Date.now()}`;
const NAME = `Ada <i>${MARK}</i>`;
const MESSAGE = 'Seen through the <b>inspector</b>';

let context;
let userDataDir;

before(async () => {
  assert.ok(SERVE_URL, 'SERVE_URL is not set: run tests/browser/run.sh');
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  userDataDir = mkdtempSync(join(tmpdir(), 'cgikit-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1000, height: 900 },
    timeout: 60_000,
  });
  context.setDefaultTimeout(20_000);
});

after(async () => {
  await context?.close();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

const inspectorUrl = () => new URL('/_cgi/', SERVE_URL).href;

// The value of one CGI variable in the variables table of a request's page.
async function variable(page, name) {
  const cell = page.locator('table tr', { has: page.locator('th', { hasText: new RegExp(`^${name}$`) }) }).locator('td');
  assert.equal(await cell.count(), 1, `one ${name} row`);
  return cell.innerText();
}

test('the inspector shows the CGI exchange of a form post', async () => {
  const page = await context.newPage();
  try {
    // Sign the guestbook as a visitor would.
    const first = await page.goto(SERVE_URL);
    assert.equal(first.status(), 200);
    await page.getByRole('textbox', { name: 'Name', exact: true }).fill(NAME);
    await page.getByRole('textbox', { name: 'Message', exact: true }).fill(MESSAGE);
    const [landing] = await Promise.all([
      page.waitForNavigation(),
      page.getByRole('button', { name: 'Sign' }).click(),
    ]);
    assert.equal(landing.status(), 200);

    // The list: newest first, the POST answered 303 between two GETs of the page.
    const list = await page.goto(inspectorUrl());
    assert.equal(list.status(), 200);
    assert.equal(await page.title(), 'CGI inspector');
    // (The browser's own /favicon.ico requests reach the script too; they are left aside.)
    const rows = page.locator('table tr').filter({ has: page.locator('td') });
    const cells = (await rows.allInnerTexts())
      .map((row) => row.split('\t').map((cell) => cell.trim()))
      .filter((row) => !row[2].includes('favicon'));
    const summary = cells.slice(0, 3).map((row) => `${row[2]} ${row[3]}`);
    assert.deepEqual(summary, ['GET / 200', 'POST / 303', 'GET / 200'], JSON.stringify(cells));
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'inspector-list.png'), fullPage: true });

    // The POST's page, reached by its link.
    const postRow = rows.filter({ hasText: 'POST /' }).filter({ has: page.locator('td', { hasText: /^303$/ }) }).first();
    await Promise.all([page.waitForNavigation(), postRow.getByRole('link', { name: 'POST /' }).click()]);
    assert.match(await page.locator('h1').innerText(), /^#\d+ POST \/ → 303$/);
    assert.equal(await variable(page, 'REQUEST_METHOD'), 'POST');
    assert.equal(await variable(page, 'CONTENT_TYPE'), 'application/x-www-form-urlencoded');
    assert.equal(await variable(page, 'GATEWAY_INTERFACE'), 'CGI/1.1');
    assert.match(await variable(page, 'HTTP_COOKIE'), /cgikit_csrf=[0-9a-f]{32}/);
    const stdin = await page.locator('pre.stdin').innerText();
    assert.equal(Number(await variable(page, 'CONTENT_LENGTH')), Buffer.byteLength(stdin));
    const form = new URLSearchParams(stdin);
    assert.equal(form.get('name'), NAME, `the body: ${stdin}`);
    assert.equal(form.get('message'), MESSAGE);
    assert.match(form.get('csrf_token') ?? '', /^[0-9a-f]{32}$/);
    const head = await page.locator('pre.head').innerText();
    assert.match(head, /^Status: 303 See Other\r?\n/);
    assert.match(head, /\nLocation: \/\r?\n/);
    // What the visitor typed is text here too, never markup.
    assert.equal(await page.locator('pre b, pre i, td b, td i').count(), 0);

    await page.screenshot({ path: join(SCREENSHOT_DIR, 'inspector.png'), fullPage: true });
  } finally {
    await page.close();
  }
});

test("a forged post's page shows what the script wrote to standard error", async () => {
  // No cookie: a request from elsewhere, which the guestbook refuses.
  const api = await request.newContext();
  try {
    const forged = await api.post(SERVE_URL, { form: { name: 'Eve', message: 'forged', csrf_token: 'guess' } });
    assert.equal(forged.status(), 403);
  } finally {
    await api.dispose();
  }
  const page = await context.newPage();
  try {
    await page.goto(inspectorUrl());
    const newest = page.locator('table tr').filter({ has: page.locator('td') }).first();
    assert.match(await newest.innerText(), /POST \/\s+403/);
    await Promise.all([page.waitForNavigation(), newest.getByRole('link', { name: 'POST /' }).click()]);
    assert.equal(
      (await page.locator('pre.stderr').innerText()).trim(),
      'guestbook: refused a post: The form came without the CSRF token cookie: it has expired, cookies are blocked, or the form did not come from this site. Reload the page and try again.',
    );
    assert.match(await page.locator('pre.head').innerText(), /^Status: 403 Forbidden/);
  } finally {
    await page.close();
  }
});
