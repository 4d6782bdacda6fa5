// Passkeys of a job seeker in headless Chromium with the DevTools virtual authenticator (CTAP2,
// internal transport, resident keys, user verification): add one in アカウント設定 on a phone, log
// out, log in with it straight to My Page (no password, no mail), remove it, and the login with
// it then fails. The settings page with a passkey listed has no axe violations, and its lists read
// as cards at 360 px and as tables from tablet width up. Without JavaScript no passkey button shows.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { axeViolations, formatViolations } from './lib/a11y.mjs';
import {
  GOOD_PASSWORD, PHONE, guardContext, horizontalOverflow, launchBrowser, mailSnapshot, newMails,
  screenshotDir, startDemo, waitForNewMail,
} from './lib/harness.mjs';
import { answered, routeTo, secondNode, virtualAuthenticator } from './lib/passkeys.mjs';
import { LOGIN, loginUntilOtp, logout, openDemoAccount, pathOf, submitOtp } from './lib/login.mjs';

const PASSKEY = {
  settingsLink: 'アカウント設定',
  name: '端末の名前',
  add: 'パスキーを追加する',
  added: 'パスキーを登録しました。登録したメールアドレスにお知らせを送りました。',
  removed: 'パスキーを削除しました。',
  login: 'パスキーでログイン',
  rejected: 'パスキーでログインできませんでした。',
  mailSubject: '【求職者マイページ】パスキーを登録しました',
};
const EMAIL = 'kushiro.passkey@example.jp';

let demo;
let browser;
let opened = false;

before(async () => {
  demo = await startDemo();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await demo?.stop();
});

/** The narrowest cell of the settings lists and how their rows are laid out. */
async function listLayout(page) {
  return page.evaluate(() => {
    const cells = [...document.querySelectorAll('.table-cards td[data-label]')];
    const rows = [...document.querySelectorAll('.table-cards tbody tr')];
    return {
      cells: cells.length,
      narrowest: Math.min(...cells.map((c) => c.getBoundingClientRect().width)),
      rowDisplays: [...new Set(rows.map((r) => getComputedStyle(r).display))],
    };
  });
}

test('on a phone a job seeker adds a passkey, logs in with it straight to My Page, removes it, and then it no longer logs in', { timeout: 120_000 }, async (t) => {
  const shots = await screenshotDir();
  const context = await browser.newContext(PHONE);
  t.after(() => context.close());
  const problems = await guardContext(context);
  const page = await context.newPage();
  const authenticator = await virtualAuthenticator(context, page);

  await openDemoAccount(page, demo, EMAIL, GOOD_PASSWORD);
  opened = true;
  const otp = await loginUntilOtp(page, demo, EMAIL, GOOD_PASSWORD);
  await submitOtp(page, otp);

  // 1. Add a passkey named after the device.
  await page.getByRole('link', { name: PASSKEY.settingsLink }).click();
  const seen = await mailSnapshot(demo.mailDir);
  await page.getByLabel(PASSKEY.name, { exact: true }).fill('iPhone');
  await page.locator('#passkey_password').fill(GOOD_PASSWORD);
  await page.getByRole('button', { name: PASSKEY.add, exact: true }).click();
  await page.getByText(PASSKEY.added, { exact: true }).waitFor();
  assert.equal(new URL(page.url()).search, '?done=passkey_added');
  await page.getByRole('cell', { name: 'iPhone', exact: true }).waitFor();
  assert.equal((await authenticator.credentials()).length, 1, 'the authenticator keeps one resident credential');
  const notice = await waitForNewMail(demo.mailDir, seen, { subject: PASSKEY.mailSubject, to: EMAIL });
  assert.match(notice.body, /iPhone/);

  // 2. The settings page with the passkey listed: no axe violations; cards at 360 px.
  const found = await axeViolations(page);
  assert.deepEqual(found, [], formatViolations(found));
  assert.deepEqual((await horizontalOverflow(page)).offenders, [], 'no horizontal scrolling on the settings page');
  const phone = await listLayout(page);
  assert.ok(phone.cells >= 6, `cells of the passkey and login lists: ${phone.cells}`);
  assert.deepEqual(phone.rowDisplays, ['block'], 'one card per row on a phone');
  assert.ok(phone.narrowest > 200, `every value has the card's width at 360 px (narrowest ${phone.narrowest} px)`);
  await page.screenshot({ path: path.join(shots, 'passkey-settings-360.png'), fullPage: true });
  await page.setViewportSize({ width: 1024, height: 768 });
  assert.deepEqual((await listLayout(page)).rowDisplays, ['table-row'], 'a table from tablet width up');
  await page.setViewportSize(PHONE.viewport);

  // 3. Log out, log in with the passkey: My Page at once, no password and no one-time password.
  await page.goto(`${demo.url}/mypage`);
  await logout(page);
  const beforeLogin = await mailSnapshot(demo.mailDir);
  const found2 = await axeViolations(page);
  assert.deepEqual(found2, [], formatViolations(found2));
  await page.getByRole('button', { name: PASSKEY.login, exact: true }).click();
  await page.waitForURL(`${demo.url}/mypage`);
  await page.getByRole('heading', { level: 1, name: LOGIN.mypageTitle }).waitFor();
  assert.deepEqual(await newMails(demo.mailDir, beforeLogin), [], 'a passkey login mails nothing');
  await page.goto(`${demo.url}/mypage/settings`);
  await page.getByRole('cell', { name: 'パスキー', exact: true }).first().waitFor();

  // 4. Remove it; the authenticator still offers the credential, and the server refuses it.
  await page.getByRole('button', { name: 'iPhone を削除', exact: true }).click();
  await page.getByText(PASSKEY.removed, { exact: true }).waitFor();
  await page.goto(`${demo.url}/mypage`);
  await logout(page);
  await page.getByRole('button', { name: PASSKEY.login, exact: true }).click();
  await page.getByText(PASSKEY.rejected).waitFor();
  assert.equal(pathOf(page), '/login');
  await page.screenshot({ path: path.join(shots, 'passkey-login-refused-360.png'), fullPage: true });
  assert.deepEqual(problems.filter((p) => !p.includes('/login/passkey')), []);
});

test('without JavaScript the login and settings pages show no passkey button', { timeout: 60_000 }, async (t) => {
  const context = await browser.newContext({ ...PHONE, javaScriptEnabled: false });
  t.after(() => context.close());
  const page = await context.newPage();
  await page.goto(`${demo.url}/login`);
  assert.equal(await page.getByRole('button', { name: PASSKEY.login }).count(), 0);
  assert.equal(await page.getByRole('button', { name: LOGIN.submit, exact: true }).count(), 1);
});

/** How many passkey login finishes the process at `url` has answered. */
const finishes = (url) => answered(url, '/login/passkey');

test('a passkey login begun on one serve process finishes on another on the same database', { timeout: 120_000 }, async (t) => {
  assert.ok(opened, 'the first test opened the account');
  const node2 = await secondNode(t, demo);
  const context = await browser.newContext(PHONE);
  t.after(() => context.close());
  await guardContext(context);
  const page = await context.newPage();
  await virtualAuthenticator(context, page);
  const otp = await loginUntilOtp(page, demo, EMAIL, GOOD_PASSWORD);
  await submitOtp(page, otp);
  await page.goto(`${demo.url}/mypage/settings`);
  await page.getByLabel(PASSKEY.name, { exact: true }).fill('Android');
  await page.locator('#passkey_password').fill(GOOD_PASSWORD);
  await page.getByRole('button', { name: PASSKEY.add, exact: true }).click();
  await page.getByText(PASSKEY.added, { exact: true }).waitFor();
  await page.goto(`${demo.url}/mypage`);
  await logout(page);
  // A load balancer's choice: the options come from the first process, the finish goes to the
  // second, with the request as the browser sent it (same origin, cookies and fetch metadata).
  await routeTo(context, '/login/passkey', node2);
  const before = await finishes(demo.url);
  const finished = page.waitForResponse((r) => new URL(r.url()).pathname === '/login/passkey');
  await page.getByRole('button', { name: PASSKEY.login, exact: true }).click();
  const answer = await finished;
  if (answer.status() !== 200) assert.fail(`${answer.url()}: ${answer.status()} ${await answer.text()}`);
  await page.waitForURL(`${demo.url}/mypage`);
  const metrics = await (await fetch(`${node2}/metrics`)).text();
  assert.match(metrics, /mypage_http_requests_total\{route="\/login\/passkey",method="POST",status="200"\} 1/);
  assert.equal(await finishes(demo.url), before, 'the first process did not see this finish');
});
