// Passkeys of a staff member in headless Chromium with the DevTools virtual authenticator (CTAP2,
// internal transport, resident keys, user verification): add one on 「パスキー」 of the console,
// log out, log in with staff ID + passkey (no password, no TOTP code), remove it, and the login
// with it then fails. The pages touched have no axe violations.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { axeViolations, formatViolations } from './lib/a11y.mjs';
import { DESKTOP, guardContext, launchBrowser, startDemo } from './lib/harness.mjs';
import { h1 } from './lib/flow.mjs';
import { pathOf } from './lib/login.mjs';
import { STAFF, demoStaff, firstStaffLogin } from './lib/staff.mjs';

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
};

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

/** A virtual platform authenticator for `page`, as a laptop's fingerprint reader would be. */
async function virtualAuthenticator(context, page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { credentials: async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials };
}

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
  await firstStaffLogin(page, staff, 'Counter#2026pw');

  // 1. Add a passkey on the console's own page.
  await page.locator('nav.staff-nav').getByRole('link', { name: PASSKEY.navLink, exact: true }).click();
  await h1(page, PASSKEY.title).waitFor();
  assert.equal(pathOf(page), '/staff/passkeys');
  await assertNoViolations(page, 'staff passkeys, none');
  await page.getByLabel(PASSKEY.name, { exact: true }).fill('職員PC');
  await page.locator('#passkey_password').fill('Counter#2026pw');
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

test('without JavaScript the staff login shows no passkey button', { timeout: 60_000 }, async (t) => {
  const context = await browser.newContext({ ...DESKTOP, javaScriptEnabled: false });
  t.after(() => context.close());
  const page = await context.newPage();
  await page.goto(`${demo.url}/staff/login`);
  assert.equal(await page.getByRole('button', { name: PASSKEY.login }).count(), 0);
  assert.equal(await page.getByRole('button', { name: STAFF.login, exact: true }).count(), 1);
});
