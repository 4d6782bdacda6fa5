// Steps of the opening flow (マイページ開設) shared by the tests, written with the visible texts.
import assert from 'node:assert/strict';
import { authKeyFrom, mailCount, waitForMail } from './harness.mjs';

export const TEXT = {
  topLink: 'アカウント作成コードをハローワークで発行済みの求職者',
  consentTitle: '求職者マイページ利用規約確認',
  privacyLink: 'プライバシーポリシー',
  termsLink: '利用規約',
  privacyAgree: '「プライバシーポリシー」に同意します。',
  termsAgree: '「利用規約」に同意します。',
  backToConsent: '利用規約確認の画面に戻る',
  close: '閉じる',
  next: '次へ進む',
  applyTitle: '必要な情報の入力(パスワード登録申込)',
  email: 'メールアドレス',
  number: '求職番号',
  birth: '生年月日',
  year: '年',
  month: '月',
  day: '日',
  code: 'アカウント作成コード',
  passwordTitle: 'パスワード登録',
  password: '登録するパスワード',
  confirmation: '登録するパスワード (確認用)',
  username: 'ログインID(メールアドレス)',
  authKey: '認証キー',
  finish: '完了',
  doneTitle: 'パスワード登録完了',
  doneMessage: 'パスワードの登録が完了し、求職者マイページが開設されました。',
  toLogin: 'ログイン画面へ進む',
  errorSummary: '入力内容に問題があります',
};

export const h1 = (page, name) => page.getByRole('heading', { level: 1, name, exact: true });

/** Fills 「必要な情報の入力」 (without submitting). */
export async function fillApply(page, { email, number, birth, code }) {
  await page.getByLabel(TEXT.email, { exact: true }).fill(email);
  await page.getByLabel(TEXT.number, { exact: true }).fill(number);
  const birthGroup = page.getByRole('group', { name: TEXT.birth });
  await birthGroup.getByLabel(TEXT.year, { exact: true }).fill(birth.year);
  await birthGroup.getByLabel(TEXT.month, { exact: true }).fill(birth.month);
  await birthGroup.getByLabel(TEXT.day, { exact: true }).fill(birth.day);
  await page.getByLabel(TEXT.code, { exact: true }).fill(code);
}

/**
 * Submits 「必要な情報の入力」 and waits for 「パスワード登録」 and the auth key mail to `email`.
 * Returns the auth key.
 */
export async function submitApplyAndReadKey(page, demo, email) {
  const before = await mailCount(demo.mailDir);
  await page.getByRole('button', { name: TEXT.next }).click();
  await h1(page, TEXT.passwordTitle).waitFor();
  assert.match(new URL(page.url()).pathname, /^\/opening\/password$/);
  const mail = await waitForMail(demo.mailDir, before);
  assert.ok(mail.to.includes(email), `auth key mail goes to ${email}, not ${mail.to}`);
  assert.ok(mail.subject.length > 0, 'the mail has a decoded subject');
  return authKeyFrom(mail);
}

/** The checks of 「パスワード登録」 that matter for password managers (SPEC §3.4). */
export async function assertPasswordFormAttributes(page, email) {
  const username = page.getByLabel(TEXT.username, { exact: true });
  await assertAttr(username, 'autocomplete', 'username');
  await assertAttr(username, 'readonly', '');
  assert.equal(await username.inputValue(), email, 'the read-only username field carries the email');
  for (const label of [TEXT.password, TEXT.confirmation]) {
    await assertAttr(page.getByLabel(label, { exact: true }), 'autocomplete', 'new-password');
    await assertAttr(page.getByLabel(label, { exact: true }), 'type', 'password');
  }
  const key = page.getByLabel(TEXT.authKey, { exact: true });
  await assertAttr(key, 'autocomplete', 'one-time-code');
  await assertAttr(key, 'inputmode', 'numeric');
}

async function assertAttr(locator, name, value) {
  assert.equal(await locator.getAttribute(name), value, `${name}="${value}" on ${locator}`);
}

/** Fills 「パスワード登録」 and presses 「完了」; waits for 「パスワード登録完了」. */
export async function finishPassword(page, password, authKey) {
  await page.getByLabel(TEXT.password, { exact: true }).fill(password);
  await page.getByLabel(TEXT.confirmation, { exact: true }).fill(password);
  await page.getByLabel(TEXT.authKey, { exact: true }).fill(authKey);
  await page.getByRole('button', { name: TEXT.finish, exact: true }).click();
  await h1(page, TEXT.doneTitle).waitFor();
  assert.equal(new URL(page.url()).pathname, '/opening/done');
  await page.getByText(TEXT.doneMessage, { exact: true }).waitFor();
}
