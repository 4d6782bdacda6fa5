// The whole opening flow (マイページ開設) on a phone with JavaScript on: the documents open in a
// dialog, the password rules tick as you type. Screenshots of every page go to a temp dir.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  GOOD_PASSWORD, PHONE, eventually, guardContext, launchBrowser, screenshotDir, startDemo,
} from './lib/harness.mjs';
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

test('a job seeker opens MyPage on a phone with JavaScript, reading both documents in a dialog', { timeout: 60_000 }, async (t) => {
  const context = await browser.newContext(PHONE);
  t.after(() => context.close());
  const problems = await guardContext(context);
  const page = await context.newPage();
  const shots = await screenshotDir();
  const shot = (name) => page.screenshot({ path: path.join(shots, `phone-${name}.png`), fullPage: true });
  t.diagnostic(`screenshots in ${shots}`);

  // 1. Top page.
  await page.goto(`${demo.url}/`);
  assert.equal(await page.evaluate(() => window.innerWidth), 360);
  await shot('1-top');
  await page.getByRole('link', { name: TEXT.topLink }).click();

  // 2. Consent: each box is disabled until its document was opened (here: in the dialog).
  await h1(page, TEXT.consentTitle).waitFor();
  assert.equal(new URL(page.url()).pathname, '/opening/consent');
  const privacyBox = page.getByLabel(TEXT.privacyAgree, { exact: true });
  const termsBox = page.getByLabel(TEXT.termsAgree, { exact: true });
  assert.equal(await privacyBox.isDisabled(), true, 'privacy checkbox disabled before the policy was opened');
  assert.equal(await termsBox.isDisabled(), true, 'terms checkbox disabled before the terms were opened');
  await shot('2-consent');

  const dialog = page.locator('dialog#document-dialog');
  for (const [link, box, title, name] of [
    [TEXT.privacyLink, privacyBox, 'プライバシーポリシー', 'privacy'],
    [TEXT.termsLink, termsBox, '利用規約', 'terms'],
  ]) {
    await page.getByRole('link', { name: link, exact: true }).click();
    const shown = page.getByRole('dialog', { name: title });
    await shown.waitFor({ state: 'visible' });
    assert.equal(await dialog.evaluate((d) => d.open), true, 'the document opens in <dialog id="document-dialog">');
    await shown.getByRole('heading', { level: 1, name: title }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/opening/consent', 'the page stays on the consent screen');
    await shot(`3-consent-dialog-${name}`);
    await shown.getByRole('button', { name: TEXT.close, exact: true }).click();
    await dialog.waitFor({ state: 'hidden' });
    await eventually(async () => assert.equal(await box.isEnabled(), true, `${link}: checkbox enabled after opening`));
    // Focus goes back to the link that opened the dialog.
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), link);
    await box.check();
  }
  assert.equal(await privacyBox.isChecked(), true);
  assert.equal(await termsBox.isChecked(), true);
  await shot('4-consent-agreed');
  await page.getByRole('button', { name: TEXT.next, exact: true }).click();

  // 3. 必要な情報の入力.
  await h1(page, TEXT.applyTitle).waitFor();
  assert.equal(new URL(page.url()).pathname, '/opening/apply');
  const email = 'kushiro.phone@example.jp';
  await fillApply(page, { email, number: demo.jobSeekerNumber, birth: demo.birth, code: demo.code });
  await shot('5-apply');
  const authKey = await submitApplyAndReadKey(page, demo, email);

  // 4. パスワード登録: the rules tick live while typing.
  await assertPasswordFormAttributes(page, email);
  const rule = (name) => page.locator(`#password-rules li[data-rule="${name}"]`);
  const met = async (name) => (await rule(name).getAttribute('class')).split(/\s+/).includes('rule-met');
  assert.equal(await met('no_symbol'), false, 'no_symbol is unmet before typing');
  const password = page.getByLabel(TEXT.password, { exact: true });
  await password.pressSequentially('Kushiro2026');
  await eventually(async () => assert.equal(await met('no_digit'), true, 'no_digit met after typing digits'));
  assert.equal(await met('no_letter'), true, 'no_letter met after typing letters');
  assert.equal(await met('no_symbol'), false, 'no_symbol still unmet without a symbol');
  await shot('6-password-no-symbol');
  await password.press('#');
  await eventually(async () => assert.equal(await met('no_symbol'), true, 'no_symbol met once a symbol is typed'));
  await password.fill('');
  await eventually(async () => assert.equal(await met('no_symbol'), false, 'no_symbol unmet again when cleared'));
  await shot('7-password');
  await finishPassword(page, GOOD_PASSWORD, authKey);

  // 5. パスワード登録完了.
  await shot('8-done');
  // The login screen (SPEC §3.6) is not part of this flow; only check where the link goes.
  assert.equal(await page.getByRole('link', { name: TEXT.toLogin, exact: true }).getAttribute('href'), '/login');

  assert.deepEqual(problems, []);
});

// showModal() would focus the 「閉じる」 button at the end; the reader must start at the title.
test('on a phone the document dialog opens at the top of the document', {
  timeout: 60_000,
}, async (t) => {
  const context = await browser.newContext(PHONE);
  t.after(() => context.close());
  const page = await context.newPage();
  await page.goto(`${demo.url}/opening/consent`);
  await page.getByRole('link', { name: TEXT.privacyLink, exact: true }).click();
  const shown = page.getByRole('dialog', { name: 'プライバシーポリシー' });
  await shown.waitFor({ state: 'visible' });
  const title = shown.getByRole('heading', { level: 1, name: 'プライバシーポリシー' });
  const [dialogBox, titleBox] = [await shown.boundingBox(), await title.boundingBox()];
  assert.ok(titleBox.y >= dialogBox.y && titleBox.y + titleBox.height <= dialogBox.y + dialogBox.height,
    `the title is out of view: dialog y=${dialogBox.y}..${dialogBox.y + dialogBox.height}, title y=${titleBox.y} (dialog scrollTop ${await shown.evaluate((d) => d.scrollTop)})`);
});
