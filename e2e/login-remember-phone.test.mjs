// Login with the emailed one-time password on a phone with JavaScript on (SPEC §3.6–3.7): the box
// 「次回以降、同じ端末・ブラウザで…省略する」 remembers the browser for 90 days, so logging in again
// in the same browser goes straight to My Page without a mail; a fresh browser still gets an OTP.
import assert from 'node:assert/strict';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import {
  GOOD_PASSWORD, PHONE, guardContext, horizontalOverflow, launchBrowser, mailSnapshot, newMails,
  screenshotDir, startDemo,
} from './lib/harness.mjs';
import {
  LOGIN, REMEMBER_COOKIE, REMEMBER_SECONDS, SESSION_COOKIE, assertMyPage, loginUntilOtp, logout,
  openDemoAccount, pathOf, submitLogin, submitOtp,
} from './lib/login.mjs';

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

const NAME = '釧路 太郎';
const EMAIL = 'kushiro.remember@example.jp';
let opened = false;

test('on a phone a job seeker logs in with the mailed one-time password, ticks the remember box, and the same browser later skips the one-time password while a fresh one does not', { timeout: 90_000 }, async (t) => {
  const email = EMAIL;
  const me = { name: NAME, number: demo.jobSeekerNumber };
  const shots = await screenshotDir();
  t.diagnostic(`screenshots in ${shots}`);

  const context = await browser.newContext(PHONE);
  t.after(() => context.close());
  const problems = await guardContext(context);
  const page = await context.newPage();
  const shot = (name) => page.screenshot({ path: path.join(shots, `phone-login-${name}.png`), fullPage: true });
  const cookie = async (name) => (await context.cookies(demo.url)).find((c) => c.name === name);

  await openDemoAccount(page, demo, email, GOOD_PASSWORD);
  opened = true;

  // 1. First login: password, then the OTP from the mail, with the box ticked.
  await page.goto(`${demo.url}/login`);
  const before = (await cookie(SESSION_COOKIE))?.value;
  const otp = await loginUntilOtp(page, demo, email, GOOD_PASSWORD);
  assert.equal(await page.evaluate(() => window.innerWidth), 360);
  await page.getByRole('button', { name: LOGIN.cancel, exact: true }).waitFor();
  assert.equal(await page.getByLabel(LOGIN.remember, { exact: true }).isChecked(), false, 'the box is not ticked by default');
  assert.deepEqual((await horizontalOverflow(page)).offenders, [], 'no horizontal scrolling on /login/otp');
  await shot('1-otp');
  assert.equal(await cookie(REMEMBER_COOKIE), undefined, 'no remember cookie before the OTP');
  const ticked = Date.now() / 1000;
  await submitOtp(page, otp, { remember: true });
  await assertMyPage(page, me);
  assert.deepEqual((await horizontalOverflow(page)).offenders, [], 'no horizontal scrolling on /mypage');
  await shot('2-mypage');

  // A new session ID after login (SPEC §3.7).
  const session = await cookie(SESSION_COOKIE);
  assert.ok(session, `a ${SESSION_COOKIE} cookie after login`);
  assert.notEqual(session.value, before, 'the session ID changes at login');

  // The remembered-browser cookie: 90 days from the moment the box was used.
  const remember = await cookie(REMEMBER_COOKIE);
  assert.ok(remember, `a ${REMEMBER_COOKIE} cookie after the OTP with the box ticked`);
  const expected = ticked + REMEMBER_SECONDS;
  assert.ok(Math.abs(remember.expires - expected) < 120,
    `expires ${new Date(remember.expires * 1000).toISOString()}, expected ≈ ${new Date(expected * 1000).toISOString()} (90 days)`);
  assert.equal(remember.httpOnly, true, 'HttpOnly');
  assert.equal(remember.secure, true, 'Secure');
  assert.equal(remember.path, '/', 'Path=/');
  assert.equal(remember.sameSite, 'Lax', 'SameSite=Lax');

  // 2. Log out: back on the login page, My Page is closed, the remembered browser stays.
  await logout(page);
  await page.goto(`${demo.url}/mypage`);
  assert.notEqual(pathOf(page), '/mypage', 'My Page is not shown after logout');
  assert.equal((await cookie(REMEMBER_COOKIE))?.value, remember.value, 'logout keeps the remembered browser');

  // 3. Same context: the password alone leads to My Page; no OTP mail is sent.
  const seen = await mailSnapshot(demo.mailDir);
  await submitLogin(page, demo, email, GOOD_PASSWORD);
  await assertMyPage(page, me);
  // The outbox is woken at once for new mail; give it time to show up if one had been queued.
  await sleep(1500);
  assert.deepEqual((await newMails(demo.mailDir, seen, { subject: LOGIN.otpSubject })).map((m) => m.file), [],
    'no one-time password mail for a remembered browser');
  await logout(page);

  // 4. A fresh context (another browser): the OTP is required again.
  const fresh = await browser.newContext(PHONE);
  t.after(() => fresh.close());
  const freshProblems = await guardContext(fresh);
  const other = await fresh.newPage();
  const otp2 = await loginUntilOtp(other, demo, email, GOOD_PASSWORD);
  await submitOtp(other, otp2, { remember: false });
  await assertMyPage(other, me);
  assert.equal((await fresh.cookies(demo.url)).find((c) => c.name === REMEMBER_COOKIE), undefined,
    'no remember cookie when the box is not ticked');

  assert.deepEqual([...problems, ...freshProblems], []);
});

// Pages that end in a button (/login/otp, /mypage) keep a gap above the footer.
test('on a phone the last button of /login/otp and /mypage keeps a gap above the footer', {
  timeout: 60_000,
}, async (t) => {
  const context = await browser.newContext(PHONE);
  t.after(() => context.close());
  const page = await context.newPage();
  // The test above opened the account; open it here if that one did not get so far.
  if (!opened) await openDemoAccount(page, demo, EMAIL, GOOD_PASSWORD);
  const gap = () => page.evaluate(() => {
    const footer = document.querySelector('.site-footer').getBoundingClientRect().top;
    const buttons = [...document.querySelectorAll('main button, main .button')];
    return Math.round(footer - Math.max(...buttons.map((b) => b.getBoundingClientRect().bottom)));
  });
  const otp = await loginUntilOtp(page, demo, EMAIL, GOOD_PASSWORD);
  const otpGap = await gap();
  await submitOtp(page, otp);
  const myPageGap = await gap();
  assert.ok(otpGap >= 16 && myPageGap >= 16, `gap above the footer: /login/otp ${otpGap} px, /mypage ${myPageGap} px (want ≥ 16)`);
});
