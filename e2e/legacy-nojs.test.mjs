// The pre-2026-03-22 path end to end on a desktop browser with JavaScript off (SPEC §3.9): a job
// seeker whose email the counter registered before the cutoff has no code; 「パスワードをお忘れの方」
// leads through the consent screen to the password + 認証キー step, opens the account, and the new
// password logs in with an OTP.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  DESKTOP, authKeyFrom, guardContext, launchBrowser, mailSnapshot, startDemo, waitForNewMail,
} from './lib/harness.mjs';
import { TEXT, h1 } from './lib/flow.mjs';
import {
  LOGIN, acceptConsent, assertMyPage, loginUntilOtp, logout, pathOf, submitForgot, submitNewPassword,
  submitOtp,
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

const PASSWORD = 'Nemuro#Bay88';

test('a job seeker registered at the counter before the cutoff opens MyPage through 「パスワードをお忘れの方」 with JavaScript off, consenting first, and logs in with an OTP', { timeout: 90_000 }, async (t) => {
  assert.ok(demo.legacy, `the demo prints the pre-cutoff job seeker:\n${demo.stdout}`);
  const { email, jobSeekerNumber: number, birth } = demo.legacy;
  const context = await browser.newContext({ ...DESKTOP, javaScriptEnabled: false });
  t.after(() => context.close());
  const problems = await guardContext(context);
  const page = await context.newPage();

  // 1. Login page → 「パスワードをお忘れの方」.
  await page.goto(`${demo.url}/login`);
  await page.getByRole('link', { name: LOGIN.forgotLink, exact: true }).click();
  const seen = await mailSnapshot(demo.mailDir);
  await submitForgot(page, { email, number, birth });

  // 2. No consent recorded and this browser has not consented: the consent screen first
  //    (document pages and their back link, as there is no JavaScript).
  await h1(page, TEXT.consentTitle).waitFor();
  assert.equal(pathOf(page), '/opening/consent');
  assert.equal(await page.getByLabel(TEXT.privacyAgree, { exact: true }).isDisabled(), true,
    'the privacy box is disabled until the policy was opened');
  await acceptConsent(page);

  // 3. 「パスワード再設定」 with the key from the mail.
  await h1(page, LOGIN.resetTitle).waitFor();
  assert.equal(pathOf(page), '/login/forgot/password');
  assert.equal(await page.getByLabel(TEXT.username, { exact: true }).inputValue(), email);
  const keyMail = await waitForNewMail(demo.mailDir, seen, { subject: LOGIN.keySubject, to: email });
  await submitNewPassword(page, PASSWORD, authKeyFrom(keyMail));

  // 4. Done: the account was opened (not "reset").
  await page.getByText(TEXT.doneMessage, { exact: true }).waitFor();
  assert.equal(await page.getByText(LOGIN.resetDoneMessage).count(), 0, 'not the reset message');
  await page.getByRole('link', { name: TEXT.toLogin, exact: true }).click();
  await h1(page, LOGIN.title).waitFor();

  // 5. Log in with the new password and the OTP.
  const otp = await loginUntilOtp(page, demo, email, PASSWORD);
  await submitOtp(page, otp);
  await assertMyPage(page, { name: '根室 花子', number });
  await page.getByText(email, { exact: true }).waitFor();
  await logout(page);

  assert.deepEqual(problems, []);
});
