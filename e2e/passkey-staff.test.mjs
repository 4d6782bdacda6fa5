// Passkeys of a staff member in headless Chromium with the DevTools virtual authenticator (CTAP2,
// internal transport, resident keys, user verification): add one on 「パスキー」 of the console,
// log out, log in with staff ID + passkey (no password, no TOTP code), remove it, and the login
// with it then fails. The pages touched have no axe violations.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { axeViolations, formatViolations } from './lib/a11y.mjs';
import { DESKTOP, guardContext, launchBrowser, startDemo } from './lib/harness.mjs';
import { h1 } from './lib/flow.mjs';
import { pathOf } from './lib/login.mjs';
import { answered, routeTo, secondNode, virtualAuthenticator } from './lib/passkeys.mjs';
import { STAFF, demoStaff, firstStaffLogin, submitStaffLogin, totp } from './lib/staff.mjs';

const PASSKEY = {
  navLink: 'パスキー',
  title: 'パスキー',
  name: '端末の名前',
  add: 'パスキーを追加する',
  added: 'パスキーを登録しました。',
  removed: 'パスキーを削除しました。',
  login: 'パスキーでログイン',
  rejected: 'パスキーでログインできませんでした。',
  logout: 'ログアウト',
  require: 'この安定所の職員のログインにパスキーを必須にする',
  save: '保存',
  due: 'この安定所では、職員のログインにパスキーが必要です。',
  required: 'この安定所の職員は、パスキーでログインしてください。',
};
const PASSWORD = 'Counter#2026pw';

let demo;
let browser;

before(async () => {
  demo = await startDemo();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await demo?.stop();
});

async function assertNoViolations(page, state) {
  const found = await axeViolations(page);
  assert.deepEqual(found, [], `${state}: ${formatViolations(found)}`);
}

async function logout(page) {
  await page.getByRole('button', { name: PASSKEY.logout, exact: true }).click();
  await h1(page, STAFF.loginTitle).waitFor();
}

test('a staff member adds a passkey, logs in with staff ID + passkey, removes it, and then it no longer logs in', { timeout: 120_000 }, async (t) => {
  const staff = demoStaff(demo.stdout);
  const context = await browser.newContext(DESKTOP);
  t.after(() => context.close());
  const problems = await guardContext(context);
  const page = await context.newPage();
  const authenticator = await virtualAuthenticator(context, page);
  await firstStaffLogin(page, staff, PASSWORD);

  // 1. Add a passkey on the console's own page.
  await page.locator('nav.staff-nav').getByRole('link', { name: PASSKEY.navLink, exact: true }).click();
  await h1(page, PASSKEY.title).waitFor();
  assert.equal(pathOf(page), '/staff/passkeys');
  await assertNoViolations(page, 'staff passkeys, none');
  await page.getByLabel(PASSKEY.name, { exact: true }).fill('職員PC');
  await page.locator('#passkey_password').fill(PASSWORD);
  await page.getByRole('button', { name: PASSKEY.add, exact: true }).click();
  await page.getByText(PASSKEY.added, { exact: true }).waitFor();
  assert.equal(new URL(page.url()).search, '?done=added');
  await page.getByRole('cell', { name: '職員PC', exact: true }).waitFor();
  assert.equal((await authenticator.credentials()).length, 1, 'the authenticator keeps one resident credential');
  await assertNoViolations(page, 'staff passkeys, one listed');

  // 2. Log out; staff ID + passkey: the console at once, no password and no TOTP code.
  await logout(page);
  await page.getByRole('button', { name: PASSKEY.login, exact: true }).waitFor();
  await assertNoViolations(page, 'staff login with the passkey button');
  await page.locator('#login_id').fill(staff.loginId);
  await page.getByRole('button', { name: PASSKEY.login, exact: true }).click();
  await page.waitForURL(`${demo.url}/staff`);
  await h1(page, STAFF.homeTitle).waitFor();

  // 3. Remove it; the authenticator still offers the credential, and the server refuses it.
  await page.goto(`${demo.url}/staff/passkeys`);
  await page.getByRole('button', { name: '職員PC を削除', exact: true }).click();
  await page.getByText(PASSKEY.removed, { exact: true }).waitFor();
  assert.equal(await page.getByRole('cell', { name: '職員PC', exact: true }).count(), 0);
  await logout(page);
  await page.locator('#login_id').fill(staff.loginId);
  await page.getByRole('button', { name: PASSKEY.login, exact: true }).click();
  await page.getByText(PASSKEY.rejected).waitFor();
  assert.equal(pathOf(page), '/staff/login');
  await assertNoViolations(page, 'staff login with the passkey refused');
  assert.deepEqual(problems.filter((p) => !p.includes('/staff/login/passkey')), []);
});

/** A TOTP code of a step no login has used yet: the first one of the next 30-second step. */
async function nextStepCode(secret) {
  await sleep(30_000 - (Date.now() % 30_000) + 200);
  return totp(secret);
}

test('an office that requires passkeys: the admin sets it, the page to add one, the password refused, a passkey login over two serve processes', { timeout: 180_000 }, async (t) => {
  const staff = demoStaff(demo.stdout);
  const node2 = await secondNode(t, demo);
  const context = await browser.newContext(DESKTOP);
  t.after(() => context.close());
  const problems = await guardContext(context);
  const page = await context.newPage();
  await virtualAuthenticator(context, page);
  // The first test left the demo admin without a passkey, on password + TOTP.
  await submitStaffLogin(page, staff, { password: PASSWORD, code: await nextStepCode(staff.secret) });
  await h1(page, STAFF.homeTitle).waitFor();

  // 1. The admin requires passkeys for the demo office, the admin's own.
  await page.locator('nav.staff-nav').getByRole('link', { name: '安定所', exact: true }).click();
  await page.getByLabel(PASSKEY.require, { exact: true }).check();
  await assertNoViolations(page, 'offices with the passkey setting');
  await page.getByRole('button', { name: PASSKEY.save, exact: true }).click();

  // 2. This session logged in by password and has no passkey: 「パスキー」 is the only page.
  await h1(page, PASSKEY.title).waitFor();
  assert.equal(pathOf(page), '/staff/passkeys');
  await page.getByText(PASSKEY.due).waitFor();
  assert.equal(await page.locator('nav.staff-nav a').count(), 0, 'no menu that leads nowhere');
  await assertNoViolations(page, 'staff passkeys, due');
  await page.goto(`${demo.url}/staff/seekers/new`);
  assert.equal(pathOf(page), '/staff/passkeys');
  await page.getByLabel(PASSKEY.name, { exact: true }).fill('職員PC');
  await page.locator('#passkey_password').fill(PASSWORD);
  await page.getByRole('button', { name: PASSKEY.add, exact: true }).click();
  await page.getByText(PASSKEY.added, { exact: true }).waitFor();
  assert.equal(await page.getByText(PASSKEY.due).count(), 0);
  await page.locator('nav.staff-nav').getByRole('link', { name: STAFF.nav[0], exact: true }).click();
  await h1(page, STAFF.homeTitle).waitFor();
  await logout(page);

  // 3. Password and code are right, and refused: the page says to use the passkey.
  await submitStaffLogin(page, staff, { password: PASSWORD, code: await nextStepCode(staff.secret) });
  await page.getByText(PASSKEY.required).waitFor();
  assert.equal(pathOf(page), '/staff/login');
  await assertNoViolations(page, 'staff login, passkey required');

  // 4. Staff ID + passkey: options from this process, the finish on the second one.
  await routeTo(context, '/staff/login/passkey', node2);
  const before = await answered(demo.url, '/staff/login/passkey');
  await page.locator('#login_id').fill(staff.loginId);
  const finished = page.waitForResponse((r) => new URL(r.url()).pathname === '/staff/login/passkey');
  await page.getByRole('button', { name: PASSKEY.login, exact: true }).click();
  const answer = await finished;
  if (answer.status() !== 200) assert.fail(`${answer.url()}: ${answer.status()} ${await answer.text()}`);
  await page.waitForURL(`${demo.url}/staff`);
  await h1(page, STAFF.homeTitle).waitFor();
  assert.equal(await answered(node2, '/staff/login/passkey'), 1, 'the second process finished it');
  assert.equal(await answered(demo.url, '/staff/login/passkey'), before, 'the first process did not see this finish');
  assert.deepEqual(problems, []);
});

test('without JavaScript the staff login shows no passkey button', { timeout: 60_000 }, async (t) => {
  const context = await browser.newContext({ ...DESKTOP, javaScriptEnabled: false });
  t.after(() => context.close());
  const page = await context.newPage();
  await page.goto(`${demo.url}/staff/login`);
  assert.equal(await page.getByRole('button', { name: PASSKEY.login }).count(), 0);
  assert.equal(await page.getByRole('button', { name: STAFF.login, exact: true }).count(), 1);
});
