// 「パスワードをお忘れの方」 end to end on a desktop browser with JavaScript on (SPEC §3.8): a new
// password set with the mailed 認証キー works (with an OTP), the old one is refused, and the reset
// forgets the remembered browser.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  DESKTOP, GOOD_PASSWORD, authKeyFrom, guardContext, launchBrowser, mailSnapshot, startDemo,
  waitForNewMail,
} from './lib/harness.mjs';
import { TEXT, h1 } from './lib/flow.mjs';
import {
  LOGIN, REMEMBER_COOKIE, assertMyPage, loginUntilOtp, logout, openDemoAccount, pathOf, submitForgot,
  submitLogin, submitNewPassword, submitOtp,
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

const NEW_PASSWORD = 'Akan-Lake#77';

test('a job seeker who forgot the password sets a new one with the mailed key on a desktop browser, logs in with it and an OTP, and the old password is refused', { timeout: 90_000 }, async (t) => {
  const email = 'kushiro.recovery@example.jp';
  const me = { name: '釧路 太郎', number: demo.jobSeekerNumber };
  const context = await browser.newContext(DESKTOP);
  t.after(() => context.close());
  const problems = await guardContext(context);
  const page = await context.newPage();

  await openDemoAccount(page, demo, email, GOOD_PASSWORD);
  assert.equal(await page.evaluate(() => window.innerWidth), 1280);

  // This browser is remembered before the reset, so the reset has something to revoke.
  const otp = await loginUntilOtp(page, demo, email, GOOD_PASSWORD);
  await submitOtp(page, otp, { remember: true });
  await assertMyPage(page, me);
  assert.ok((await context.cookies(demo.url)).some((c) => c.name === REMEMBER_COOKIE), 'remembered before the reset');
  await logout(page);

  // 1. 「パスワードをお忘れの方」 from the login page.
  await page.getByRole('link', { name: LOGIN.forgotLink, exact: true }).click();
  const seen = await mailSnapshot(demo.mailDir);
  await submitForgot(page, { email, number: demo.jobSeekerNumber, birth: demo.birth });

  // 2. 「パスワード再設定」 with the key from the mail.
  await h1(page, LOGIN.resetTitle).waitFor();
  assert.equal(pathOf(page), '/login/forgot/password');
  const keyMail = await waitForNewMail(demo.mailDir, seen, { subject: LOGIN.keySubject, to: email });
  const username = page.getByLabel(TEXT.username, { exact: true });
  assert.equal(await username.inputValue(), email, 'the read-only username field carries the email');
  assert.equal(await username.getAttribute('autocomplete'), 'username');
  await submitNewPassword(page, NEW_PASSWORD, authKeyFrom(keyMail));

  // 3. Done: 「パスワードを再設定しました。…」 and 「ログイン画面へ進む」; a notice mail.
  await page.getByText(LOGIN.resetDoneMessage).waitFor();
  assert.equal(await page.getByText(TEXT.doneMessage, { exact: true }).count(), 0, 'not the opening message');
  await waitForNewMail(demo.mailDir, seen, { subject: LOGIN.resetNoticeSubject, to: email });
  await page.getByRole('link', { name: TEXT.toLogin, exact: true }).click();
  await h1(page, LOGIN.title).waitFor();

  // 4. The old password is refused with the one message for wrong ID or password.
  await submitLogin(page, demo, email, GOOD_PASSWORD);
  await h1(page, LOGIN.title).waitFor();
  assert.equal(pathOf(page), '/login');
  await page.getByText(LOGIN.rejected).first().waitFor();
  assert.equal(await page.getByLabel(LOGIN.password, { exact: true }).inputValue(), '', 'the password is not echoed back');

  // 5. The new password works, and asks for an OTP again although this browser was remembered.
  const otp2 = await loginUntilOtp(page, demo, email, NEW_PASSWORD);
  await submitOtp(page, otp2);
  await assertMyPage(page, me);

  assert.deepEqual(problems, []);
});
