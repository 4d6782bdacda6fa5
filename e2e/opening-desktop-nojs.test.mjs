// The whole opening flow (マイページ開設) on a desktop browser with JavaScript off: the documents
// open as pages of their own, whose back link returns to the consent screen.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DESKTOP, GOOD_PASSWORD, guardContext, launchBrowser, startDemo } from './lib/harness.mjs';
import {
  TEXT, assertPasswordFormAttributes, fillApply, finishPassword, h1, submitApplyAndReadKey,
} from './lib/flow.mjs';

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

test('a job seeker opens MyPage on a desktop browser with JavaScript off, reading the document pages', { timeout: 60_000 }, async (t) => {
  const context = await browser.newContext({ ...DESKTOP, javaScriptEnabled: false });
  t.after(() => context.close());
  const problems = await guardContext(context);
  const page = await context.newPage();

  // 1. Top page.
  await page.goto(`${demo.url}/`);
  assert.equal(await page.evaluate(() => window.innerWidth), 1280);
  await page.getByRole('link', { name: TEXT.topLink }).click();

  // 2. Consent.
  await h1(page, TEXT.consentTitle).waitFor();
  const privacyBox = page.getByLabel(TEXT.privacyAgree, { exact: true });
  const termsBox = page.getByLabel(TEXT.termsAgree, { exact: true });
  assert.equal(await privacyBox.isDisabled(), true, 'privacy checkbox disabled before the policy was opened');
  assert.equal(await termsBox.isDisabled(), true, 'terms checkbox disabled before the terms were opened');

  // The privacy policy page, then back: only its box becomes enabled.
  await page.getByRole('link', { name: TEXT.privacyLink, exact: true }).click();
  await page.waitForURL((url) => url.pathname === '/opening/documents/privacy');
  await page.getByRole('heading', { level: 1, name: 'プライバシーポリシー' }).waitFor();
  assert.equal(await page.locator('dialog[open]').count(), 0, 'no dialog without JavaScript');
  await page.getByRole('link', { name: TEXT.backToConsent, exact: true }).click();
  await h1(page, TEXT.consentTitle).waitFor();
  assert.equal(new URL(page.url()).pathname, '/opening/consent');
  assert.equal(await privacyBox.isEnabled(), true, 'privacy checkbox enabled after reading the policy');
  assert.equal(await termsBox.isDisabled(), true, 'terms checkbox still disabled');

  // The terms page, then back.
  await page.getByRole('link', { name: TEXT.termsLink, exact: true }).click();
  await page.waitForURL((url) => url.pathname === '/opening/documents/terms');
  await page.getByRole('heading', { level: 1, name: '利用規約' }).waitFor();
  await page.getByRole('link', { name: TEXT.backToConsent, exact: true }).click();
  await h1(page, TEXT.consentTitle).waitFor();
  assert.equal(await privacyBox.isEnabled(), true);
  assert.equal(await termsBox.isEnabled(), true, 'terms checkbox enabled after reading the terms');

  await privacyBox.check();
  await termsBox.check();
  await page.getByRole('button', { name: TEXT.next, exact: true }).click();

  // 3. 必要な情報の入力.
  await h1(page, TEXT.applyTitle).waitFor();
  assert.equal(new URL(page.url()).pathname, '/opening/apply');
  const email = 'kushiro.desktop@example.jp';
  await fillApply(page, { email, number: demo.jobSeekerNumber, birth: demo.birth, code: demo.code });
  const authKey = await submitApplyAndReadKey(page, demo, email);

  // 4. パスワード登録 (the rules are listed, but do not tick without JavaScript).
  await assertPasswordFormAttributes(page, email);
  await page.getByText(`${email} あてに【認証キー】を送信しました。`, { exact: true }).waitFor();
  assert.equal(await page.locator('#password-rules li[data-rule]').count() > 0, true, 'the rules are stated before typing');
  await finishPassword(page, GOOD_PASSWORD, authKey);

  // 5. パスワード登録完了.
  assert.equal(await page.getByRole('link', { name: TEXT.toLogin, exact: true }).getAttribute('href'), '/login');

  assert.deepEqual(problems, []);
});
