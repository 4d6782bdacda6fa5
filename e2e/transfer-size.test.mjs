// A measurement, not a budget: what each page of the opening flow costs a phone (360×740, JavaScript
// on) in requests and bytes, read from the DevTools protocol's Network events. Two walks, each
// against its own demo server:
//   cold   — the HTTP cache disabled: every page as a first visit (all its CSS and JS fetched);
//   walked — the cache on, in the order of the flow (static files are `max-age=3600`).
// Prints a table (test diagnostics, and transfer-size.txt in the screenshot directory) and the
// heaviest page; asserts only that the figures make sense.
//
// No context.route() here (routing turns Chromium's HTTP cache off): non-local hosts are made
// unresolvable with --host-resolver-rules instead, and every request is checked to be local.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import {
  GOOD_PASSWORD, PHONE, launchBrowser, mailSnapshot, screenshotDir, startDemo, waitForNewMail,
} from './lib/harness.mjs';
import { mailedDigits } from './lib/a11y.mjs';
import { pathOf } from './lib/login.mjs';

let browser;

before(async () => {
  browser = await launchBrowser({
    extraArgs: ['--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1'],
  });
});

after(async () => {
  await browser?.close();
});

/** Counts requests and bytes per "page" (bucket) from the Network domain of a CDP session. */
class NetworkMeter {
  constructor(cdp) {
    this.cdp = cdp;
    this.inflight = new Set();
    this.bucket = null;
    this.nonLocal = [];
    this.lastActivity = Date.now();
    cdp.on('Network.requestWillBeSent', (e) => this.#request(e));
    cdp.on('Network.requestServedFromCache', (e) => { this.bucket?.cached.add(e.requestId); });
    cdp.on('Network.responseReceived', (e) => this.#response(e));
    cdp.on('Network.dataReceived', (e) => { if (this.bucket) this.bucket.body += e.dataLength; });
    cdp.on('Network.loadingFinished', (e) => this.#finished(e.requestId, e.encodedDataLength));
    cdp.on('Network.loadingFailed', (e) => {
      this.bucket?.failed.push(`${this.bucket.urls.get(e.requestId) ?? e.requestId}: ${e.errorText}`);
      this.#finished(e.requestId, 0);
    });
  }

  #request(e) {
    this.lastActivity = Date.now();
    const url = new URL(e.request.url);
    if (!['localhost', '127.0.0.1'].includes(url.hostname) && url.protocol !== 'data:') this.nonLocal.push(url.href);
    if (url.protocol === 'data:' || !this.bucket) return;
    // A redirect re-uses the request ID: the hop before it is a request of its own.
    if (e.redirectResponse) this.bucket.statuses.push(`${e.redirectResponse.status} ${new URL(e.redirectResponse.url).pathname}`);
    this.bucket.requests++;
    this.bucket.urls.set(e.requestId, `${e.request.method} ${url.pathname}`);
    this.inflight.add(e.requestId);
  }

  #response(e) {
    this.lastActivity = Date.now();
    if (!this.bucket || !this.bucket.urls.has(e.requestId)) return;
    if (e.response.fromDiskCache || e.response.fromPrefetchCache) this.bucket.cached.add(e.requestId);
    this.bucket.statuses.push(`${e.response.status} ${new URL(e.response.url).pathname}`);
  }

  #finished(requestId, encodedDataLength) {
    this.lastActivity = Date.now();
    this.inflight.delete(requestId);
    if (this.bucket?.urls.has(requestId)) this.bucket.transfer += encodedDataLength;
  }

  /** Starts counting for `label`; everything until the next start() belongs to it. */
  start(label) {
    this.bucket = { label, path: '', requests: 0, cached: new Set(), transfer: 0, body: 0, statuses: [], failed: [], urls: new Map() };
    return this.bucket;
  }

  /** Waits until no request is in flight and nothing happened for `quietMs`. */
  async idle(quietMs = 300, timeoutMs = 10_000) {
    const deadline = Date.now() + timeoutMs;
    while (this.inflight.size > 0 || Date.now() - this.lastActivity < quietMs) {
      if (Date.now() > deadline) throw new Error(`network not idle: ${[...this.inflight].map((id) => this.bucket?.urls.get(id) ?? id).join(', ')}`);
      await sleep(50);
    }
  }
}

/**
 * Walks the opening flow on a phone and returns one row per page (or dialog) with its requests
 * and bytes. `cache`: whether Chromium's HTTP cache is on.
 */
async function walkAndMeasure(t, { cache }) {
  const demo = await startDemo();
  t.after(() => demo.stop());
  const context = await browser.newContext(PHONE);
  t.after(() => context.close());
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(err.message));
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: !cache });
  const meter = new NetworkMeter(cdp);
  const rows = [];

  /** Counts what `action` (a navigation, or opening a dialog) loads, until the network is quiet. */
  const measure = async (label, action, { navigates = true } = {}) => {
    const bucket = meter.start(label);
    const loaded = navigates ? page.waitForEvent('load') : null;
    await action();
    await loaded;
    await meter.idle();
    bucket.path = pathOf(page);
    rows.push(bucket);
    meter.bucket = null;
  };
  const click = (selector) => () => page.locator(selector).first().click();
  const submitButton = (action) => click(`form[action="${action}"] button[type="submit"]`);

  await measure('top page', () => page.goto(`${demo.url}/`));
  await measure('consent', click('main a[href="/opening/consent"]'));
  for (const doc of ['privacy', 'terms']) {
    await measure(`consent: ${doc} dialog`, async () => {
      await page.locator(`a[data-document="${doc}"]`).click();
      await page.locator('dialog[open] article.document').waitFor();
    }, { navigates: false });
    await page.locator('dialog[open] button[value="close"]').click();
    await page.locator('dialog').waitFor({ state: 'hidden' });
  }
  await measure('document page privacy', () => page.goto(`${demo.url}/opening/documents/privacy`));
  await measure('document page terms', () => page.goto(`${demo.url}/opening/documents/terms`));
  await measure('consent (back link)', click('main a.button[href="/opening/consent"]'));
  await page.locator('#agree_privacy').check();
  await page.locator('#agree_terms').check();
  await measure('apply', submitButton('/opening/consent'));
  await measure('apply with errors', submitButton('/opening/apply'));
  const email = `transfer.${cache ? 'walked' : 'cold'}@example.jp`;
  await page.locator('#email').fill(email);
  await page.locator('#job_seeker_number').fill(demo.jobSeekerNumber);
  await page.locator('#birth_year').fill(demo.birth.year);
  await page.locator('#birth_month').fill(demo.birth.month);
  await page.locator('#birth_day').fill(demo.birth.day);
  await page.locator('#code').fill(demo.code);
  const seen = await mailSnapshot(demo.mailDir);
  await measure('password', submitButton('/opening/apply'));
  assert.equal(pathOf(page), '/opening/password');
  const authKey = mailedDigits(await waitForNewMail(demo.mailDir, seen, { to: email }));
  await measure('password with errors', submitButton('/opening/password'));
  await page.locator('#password').fill(GOOD_PASSWORD);
  await page.locator('#password_confirmation').fill(GOOD_PASSWORD);
  await page.locator('#auth_key').fill(authKey);
  await measure('done', submitButton('/opening/password'));
  assert.equal(pathOf(page), '/opening/done');

  assert.deepEqual(meter.nonLocal, [], 'only local requests');
  assert.deepEqual(errors, [], 'no page errors');
  return rows;
}

const kB = (n) => `${(n / 1024).toFixed(1)} kB`;

function table(title, rows) {
  const lines = [
    title,
    `${'page'.padEnd(24)} ${'path'.padEnd(26)} ${'req'.padStart(3)} ${'cached'.padStart(6)} ${'transfer'.padStart(10)} ${'bodies'.padStart(10)}  responses`,
  ];
  for (const r of rows) {
    lines.push(`${r.label.padEnd(24)} ${r.path.padEnd(26)} ${String(r.requests).padStart(3)} ${String(r.cached.size).padStart(6)} ${kB(r.transfer).padStart(10)} ${kB(r.body).padStart(10)}  ${r.statuses.join(', ')}`);
  }
  const total = rows.reduce((a, r) => ({ requests: a.requests + r.requests, transfer: a.transfer + r.transfer, body: a.body + r.body }), { requests: 0, transfer: 0, body: 0 });
  lines.push(`${'whole flow'.padEnd(24)} ${''.padEnd(26)} ${String(total.requests).padStart(3)} ${''.padStart(6)} ${kB(total.transfer).padStart(10)} ${kB(total.body).padStart(10)}`);
  const heaviest = rows.reduce((a, r) => (r.transfer > a.transfer ? r : a));
  lines.push(`heaviest: ${heaviest.label} (${heaviest.path}): ${kB(heaviest.transfer)} transferred (${heaviest.transfer} B, of which ${heaviest.body} B bodies) in ${heaviest.requests} requests`);
  return { lines, heaviest, total };
}

test('transfer size and request count of each page of the opening flow on a phone (measurement)', { timeout: 60_000 }, async (t) => {
  const cold = await walkAndMeasure(t, { cache: false });
  const walked = await walkAndMeasure(t, { cache: true });
  const out = [];
  const coldTable = table('cold (HTTP cache disabled: each page as a first visit)', cold);
  const walkedTable = table('walked (HTTP cache on, pages in the order of the flow)', walked);
  out.push(...coldTable.lines, '', ...walkedTable.lines);
  out.push('', 'transfer = bytes on the wire (Network.loadingFinished encodedDataLength: headers and bodies); bodies = Network.dataReceived dataLength (decoded, including bodies read from the cache); cached = requests served from the HTTP cache');
  for (const line of out) t.diagnostic(line);
  await writeFile(path.join(await screenshotDir(), 'transfer-size.txt'), `${out.join('\n')}\n`);

  // Sanity only: every page loaded something, nothing failed, the cache helps.
  for (const r of [...cold, ...walked]) {
    assert.ok(r.requests >= 1 && r.transfer > 0, `${r.label}: at least one request and some bytes`);
    assert.deepEqual(r.failed, [], `${r.label}: no failed request`);
    // /favicon.ico: Chromium asks for it on the first page; the app has none (a 404, noted in the table).
    assert.ok(r.statuses.every((s) => /^(200|303|422) /.test(s) || s === '404 /favicon.ico'), `${r.label}: statuses ${r.statuses.join(', ')}`);
  }
  assert.ok(coldTable.heaviest.transfer < 1024 * 1024, `the heaviest page is under 1 MB (${kB(coldTable.heaviest.transfer)})`);
  assert.ok(walkedTable.total.transfer <= coldTable.total.transfer, 'the cached walk moves no more bytes than the cold one');
});
