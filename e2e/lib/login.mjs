// Steps of login (SPEC §3.6–3.7), 「パスワードをお忘れの方」 (§3.8, §3.9) and My Page, written with the
// visible texts; plus the whole opening flow in one call, for tests that start from an open account.
import assert from 'node:assert/strict';
import { digitsAfter, mailSnapshot, waitForNewMail } from './harness.mjs';
import {
  TEXT, fillApply, finishPassword, h1, submitApplyAndReadKey,
} from './flow.mjs';

export const LOGIN = {
  title: '求職者マイページにログイン',
  email: 'ID (メールアドレス)',
  password: 'パスワード',
  submit: 'ログイン',
  forgotLink: 'パスワードをお忘れの方',
  rejected: 'ID (メールアドレス)またはパスワードが正しくありません。',
  loggedOut: 'ログアウトしました。',
  otpTitle: 'ワンタイムパスワード',
  otp: 'ワンタイムパスワード',
  remember: '次回以降、同じ端末・ブラウザでログインする際にワンタイムパスワードを省略する',
  send: '送信',
  cancel: 'キャンセル',
  otpSubject: '【求職者マイページ】ワンタイムパスワードのお知らせ',
  mypageTitle: 'マイページ',
  welcome: (name) => `${name} さん、ようこそ。`,
  logout: 'ログアウト',
  forgotTitle: 'パスワードをお忘れの方',
  resetTitle: 'パスワード再設定',
  newPassword: '新しいパスワード',
  newConfirmation: '新しいパスワード (確認用)',
  keySubject: '【求職者マイページ】パスワード登録・再設定の認証キー',
  resetDoneMessage: 'パスワードを再設定しました。',
  resetNoticeSubject: '【求職者マイページ】パスワードを再設定しました',
};

/** The remembered-browser cookie (the demo runs on http://localhost, a secure context). */
export const REMEMBER_COOKIE = '__Host-mypage-remember';
export const SESSION_COOKIE = '__Host-mypage';
/** 90 days (SPEC §3.7). */
export const REMEMBER_SECONDS = 90 * 86400;

export const pathOf = (page) => new URL(page.url()).pathname;

/**
 * From the consent screen (「求職者マイページ利用規約確認」), opens both documents — in the dialog
 * with JavaScript, as pages of their own without — then ticks both boxes and presses 「次へ進む」.
 * (Both documents first: without JavaScript, opening a document leaves the page, and a box ticked
 * before that is not ticked on return.)
 */
export async function acceptConsent(page) {
  await h1(page, TEXT.consentTitle).waitFor();
  for (const link of [TEXT.privacyLink, TEXT.termsLink]) {
    await page.getByRole('link', { name: link, exact: true }).click();
    // Either the dialog (JavaScript) or the document page with its back link (no JavaScript).
    const close = page.getByRole('dialog').getByRole('button', { name: TEXT.close, exact: true });
    const back = page.getByRole('link', { name: TEXT.backToConsent, exact: true });
    await close.or(back).click();
    await h1(page, TEXT.consentTitle).waitFor();
  }
  // check() waits until the box is enabled (the server records the opening of the document).
  for (const box of [TEXT.privacyAgree, TEXT.termsAgree]) await page.getByLabel(box, { exact: true }).check();
  await page.getByRole('button', { name: TEXT.next, exact: true }).click();
}

/**
 * Opens the demo job seeker's account from the top page (consent, 必要な情報の入力, パスワード登録)
 * with login ID `email` and `password`; ends on 「パスワード登録完了」.
 */
export async function openDemoAccount(page, demo, email, password) {
  await page.goto(`${demo.url}/`);
  await page.getByRole('link', { name: TEXT.topLink }).click();
  await acceptConsent(page);
  await h1(page, TEXT.applyTitle).waitFor();
  await fillApply(page, { email, number: demo.jobSeekerNumber, birth: demo.birth, code: demo.code });
  const authKey = await submitApplyAndReadKey(page, demo, email);
  await finishPassword(page, password, authKey);
}

/** On 「求職者マイページにログイン」 (opened if needed): fills ID and password and presses 「ログイン」. */
export async function submitLogin(page, demo, email, password) {
  if (pathOf(page) !== '/login') await page.goto(`${demo.url}/login`);
  await h1(page, LOGIN.title).waitFor();
  await page.getByLabel(LOGIN.email, { exact: true }).fill(email);
  await page.getByLabel(LOGIN.password, { exact: true }).fill(password);
  await page.getByRole('button', { name: LOGIN.submit, exact: true }).click();
}

/**
 * Logs in with a password when a one-time password is expected: waits for 「ワンタイムパスワード」
 * and the mail to `email` sent after the click, and returns the 6 digits from it.
 */
export async function loginUntilOtp(page, demo, email, password) {
  const seen = await mailSnapshot(demo.mailDir);
  await submitLogin(page, demo, email, password);
  await h1(page, LOGIN.otpTitle).waitFor();
  assert.equal(pathOf(page), '/login/otp');
  const mail = await waitForNewMail(demo.mailDir, seen, { subject: LOGIN.otpSubject, to: email });
  return digitsAfter(mail, 'ワンタイムパスワード');
}

/** On 「ワンタイムパスワード」: enters `otp`, ticks the remember box if asked, presses 「送信」; waits for My Page. */
export async function submitOtp(page, otp, { remember = false } = {}) {
  const field = page.getByLabel(LOGIN.otp, { exact: true });
  assert.equal(await field.getAttribute('autocomplete'), 'one-time-code');
  assert.equal(await field.getAttribute('inputmode'), 'numeric');
  await field.fill(otp);
  const box = page.getByLabel(LOGIN.remember, { exact: true });
  if (remember) await box.check(); else await box.uncheck();
  await page.getByRole('button', { name: LOGIN.send, exact: true }).click();
  await h1(page, LOGIN.mypageTitle).waitFor();
  assert.equal(pathOf(page), '/mypage');
}

/** Checks My Page greets `name` and shows the 求職番号 `number`. */
export async function assertMyPage(page, { name, number }) {
  await h1(page, LOGIN.mypageTitle).waitFor();
  assert.equal(pathOf(page), '/mypage');
  await page.getByText(LOGIN.welcome(name), { exact: true }).waitFor();
  await page.getByText(number, { exact: true }).waitFor();
}

/** 「ログアウト」 on My Page: back on the login page with 「ログアウトしました。」. */
export async function logout(page) {
  await page.getByRole('button', { name: LOGIN.logout, exact: true }).click();
  await h1(page, LOGIN.title).waitFor();
  assert.equal(pathOf(page), '/login');
  await page.getByText(LOGIN.loggedOut, { exact: true }).waitFor();
}

/** Fills 「パスワードをお忘れの方」 (email, 求職番号, 生年月日) and presses 「次へ進む」. */
export async function submitForgot(page, { email, number, birth }) {
  await h1(page, LOGIN.forgotTitle).waitFor();
  assert.equal(pathOf(page), '/login/forgot');
  await page.getByLabel(LOGIN.email, { exact: true }).fill(email);
  await page.getByLabel(TEXT.number, { exact: true }).fill(number);
  const birthGroup = page.getByRole('group', { name: TEXT.birth });
  await birthGroup.getByLabel(TEXT.year, { exact: true }).fill(birth.year);
  await birthGroup.getByLabel(TEXT.month, { exact: true }).fill(birth.month);
  await birthGroup.getByLabel(TEXT.day, { exact: true }).fill(birth.day);
  await page.getByRole('button', { name: TEXT.next, exact: true }).click();
}

/** On 「パスワード再設定」: new password twice and the 認証キー, then 「完了」; waits for /login/forgot/done. */
export async function submitNewPassword(page, password, authKey) {
  await h1(page, LOGIN.resetTitle).waitFor();
  assert.equal(pathOf(page), '/login/forgot/password');
  const fields = [[LOGIN.newPassword, 'new-password'], [LOGIN.newConfirmation, 'new-password'], [TEXT.authKey, 'one-time-code']];
  for (const [label, autocomplete] of fields) {
    assert.equal(await page.getByLabel(label, { exact: true }).getAttribute('autocomplete'), autocomplete, `autocomplete of ${label}`);
  }
  await page.getByLabel(LOGIN.newPassword, { exact: true }).fill(password);
  await page.getByLabel(LOGIN.newConfirmation, { exact: true }).fill(password);
  await page.getByLabel(TEXT.authKey, { exact: true }).fill(authKey);
  await page.getByRole('button', { name: TEXT.finish, exact: true }).click();
  await page.waitForURL((url) => url.pathname === '/login/forgot/done');
}
