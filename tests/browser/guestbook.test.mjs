// A real browser against examples/guestbook.rs under a real server: headless Chromium
// (Debian's /usr/bin/chromium) driven by Playwright. Started by run.sh, which sets
// GUESTBOOK_URL (the page under lighttpd) and SCREENSHOT_DIR; run with `node --test`.
//
// What it proves, as a visitor sees it: the form comes with a hidden CSRF token and a
// SameSite=Strict cookie the browser keeps; a signature posts, is answered 303, and the
// browser lands back on the page with a GET, where the entry shows as text (markup
// escaped); a reload does not post again; an empty name comes back as 422 with the
// message shown in the form and what was typed kept.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const URL_UNDER_TEST = process.env.GUESTBOOK_URL;
const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR ?? join(dirname(fileURLToPath(import.meta.url)), '../../target/browser');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

// The flags the closed network needs: without the background-networking ones Chromium
// reaches for Google's services and its connections are refused.
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

const MESSAGE = 'Hello from a real browser: <b>bold</b> & "quotes"';
const NAME = 'Ada <i>Lovelace</i>';

let context;
let userDataDir;

before(async () => {
  assert.ok(URL_UNDER_TEST, 'GUESTBOOK_URL is not set: run tests/browser/run.sh');
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  // A fresh profile each run (--user-data-dir); Playwright takes it as userDataDir.
  userDataDir = mkdtempSync(join(tmpdir(), 'cgikit-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 900, height: 700 },
    timeout: 60_000,
  });
  context.setDefaultTimeout(20_000);
});

after(async () => {
  await context?.close();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

// The fields by their labels, exactly: getByLabel('Name') alone also finds the textarea
// once it holds text with "name" in it (its label's text includes what it holds).
const nameField = (page) => page.getByRole('textbox', { name: 'Name', exact: true });
const messageField = (page) => page.getByRole('textbox', { name: 'Message', exact: true });

async function entryCount(page) {
  const heading = await page.locator('h2').innerText();
  // "No entries", "1 entry", "2 entries": counted as people write it.
  const match = /^(No|\d+) entr(y|ies)$/.exec(heading.trim());
  assert.ok(match, `entry heading: ${JSON.stringify(heading)}`);
  const count = match[1] === 'No' ? 0 : Number(match[1]);
  assert.equal(match[2], count === 1 ? 'y' : 'ies', `plural in ${JSON.stringify(heading)}`);
  return count;
}

test('GET shows the form with a hidden CSRF token and a SameSite=Strict cookie', async () => {
  const page = await context.newPage();
  try {
    const response = await page.goto(URL_UNDER_TEST);
    assert.equal(response.status(), 200);
    assert.match(response.headers()['content-type'] ?? '', /^text\/html/);
    assert.equal(await page.title(), 'Guestbook');

    const token = page.locator('form input[type=hidden][name=csrf_token]');
    assert.equal(await token.count(), 1, 'one hidden csrf_token input');
    const value = await token.getAttribute('value');
    assert.ok(value && value.length >= 16, `CSRF token: ${JSON.stringify(value)}`);

    const cookies = await context.cookies(URL_UNDER_TEST);
    assert.ok(cookies.length >= 1, 'the page set a cookie');
    const strict = cookies.filter((cookie) => cookie.sameSite === 'Strict');
    assert.ok(strict.length >= 1, `a SameSite=Strict cookie: ${JSON.stringify(cookies)}`);
    assert.ok(strict.every((cookie) => cookie.httpOnly), 'the CSRF cookie is HttpOnly');
  } finally {
    await page.close();
  }
});

test('signing posts, is answered 303, lands on the page, and shows the entry escaped', async () => {
  const page = await context.newPage();
  try {
    await page.goto(URL_UNDER_TEST);
    const before = await entryCount(page);

    await nameField(page).fill(NAME);
    await messageField(page).fill(MESSAGE);
    const [landing] = await Promise.all([
      page.waitForNavigation(),
      page.getByRole('button', { name: 'Sign' }).click(),
    ]);

    // The final page: the guestbook itself, fetched with a GET, 200.
    assert.equal(page.url(), URL_UNDER_TEST, 'landed on the guestbook page');
    assert.equal(landing.status(), 200);
    assert.equal(landing.request().method(), 'GET');

    // The chain behind it: the POST, answered 303 with the page's path.
    const posted = landing.request().redirectedFrom();
    assert.ok(posted, 'the landing came through a redirect');
    assert.equal(posted.method(), 'POST');
    const redirect = await posted.response();
    assert.equal(redirect.status(), 303, 'the POST was answered 303');
    assert.equal(new URL(redirect.headers().location, URL_UNDER_TEST).href, URL_UNDER_TEST);
    assert.equal(posted.redirectedFrom(), null, 'one redirect, no more');

    // The entry, newest first, as text: the markup typed is shown, not applied; its date
    // is written for people, with the machine-readable one in <time datetime>.
    const time = page.locator('article time').first();
    assert.match(await time.innerText(), /^\d{1,2} [A-Z][a-z]+ \d{4}, \d{2}:\d{2} UTC$/);
    assert.match(await time.getAttribute('datetime'), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    assert.equal(await entryCount(page), before + 1);
    const entry = page.locator('article').first();
    assert.equal(await entry.locator('h3').innerText(), NAME);
    assert.equal(await entry.locator('p').innerText(), MESSAGE);
    await page.getByText('<b>bold</b>', { exact: false }).first().waitFor({ state: 'visible' });
    assert.equal(await page.locator('article b, article i').count(), 0, 'no <b> or <i> element was made');
    const html = await entry.innerHTML();
    assert.ok(html.includes('&lt;b&gt;bold&lt;/b&gt;'), `escaped in the HTML: ${html}`);

    // The form is empty again and the visitor's token still works for the next post.
    assert.equal(await nameField(page).inputValue(), '');

    await page.screenshot({ path: join(SCREENSHOT_DIR, 'guestbook.png'), fullPage: true });

    // Post/redirect/get: a reload fetches the page again, it does not post twice.
    const reloaded = await page.reload();
    assert.equal(reloaded.request().method(), 'GET');
    assert.equal(reloaded.status(), 200);
    assert.equal(await entryCount(page), before + 1, 'a reload did not post again');
  } finally {
    await page.close();
  }
});

test('an empty name is answered 422 with the message shown back in the form', async () => {
  const page = await context.newPage();
  try {
    await page.goto(URL_UNDER_TEST);
    const before = await entryCount(page);

    await nameField(page).fill('   ');
    await messageField(page).fill('A message without a name');
    const [answer] = await Promise.all([
      page.waitForNavigation(),
      page.getByRole('button', { name: 'Sign' }).click(),
    ]);

    assert.equal(answer.status(), 422);
    assert.equal(answer.request().method(), 'POST');
    assert.equal(answer.request().redirectedFrom(), null, 'no redirect on a rejection');
    const problem = page.locator('#name-error');
    await problem.waitFor({ state: 'visible' });
    assert.equal(await problem.innerText(), 'Name is required.');
    assert.equal(await nameField(page).getAttribute('class'), 'invalid');
    // What was typed comes back in the form, as typed, and nothing was stored.
    assert.equal(await messageField(page).inputValue(), 'A message without a name');
    assert.equal(await nameField(page).inputValue(), '   ');
    assert.equal(await entryCount(page), before);

    await page.screenshot({ path: join(SCREENSHOT_DIR, 'guestbook-422.png'), fullPage: true });
  } finally {
    await page.close();
  }
});
