// SPEC §8: mobile first, 320 px wide works. Every page of the opening flow, with and without its
// error messages and with the document dialog open, must fit 320 CSS px without horizontal scrolling.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  GOOD_PASSWORD, guardContext, horizontalOverflow, launchBrowser, screenshotDir, startDemo,
} from './lib/harness.mjs';
import { TEXT, fillApply, finishPassword, h1, submitApplyAndReadKey } from './lib/flow.mjs';

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

test('every page of the opening flow fits 320 px without horizontal scrolling', { timeout: 60_000 }, async (t) => {
  // Not isMobile: a mobile viewport would zoom out to fit wide content and hide the overflow.
  const context = await browser.newContext({ viewport: { width: 320, height: 640 }, locale: 'ja-JP' });
  t.after(() => context.close());
  const problems = await guardContext(context);
  const page = await context.newPage();
  const checked = [];
  const shots = await screenshotDir();
  const fits = async (what) => {
    const { width, scrollWidth, offenders } = await horizontalOverflow(page);
    assert.equal(width, 320);
    assert.ok(scrollWidth <= width,
      `${what} (${page.url()}): scrollWidth ${scrollWidth} > innerWidth ${width}; sticking out: ${offenders.join(', ')}`);
    checked.push(what);
    const name = `narrow320-${String(checked.length).padStart(2, '0')}-${what.replace(/[^0-9A-Za-z]+/g, '-')}.png`;
    await page.screenshot({ path: path.join(shots, name), fullPage: true });
  };

  await page.goto(`${demo.url}/`);
  await fits('top page');
  await page.getByRole('link', { name: TEXT.topLink }).click();
  await h1(page, TEXT.consentTitle).waitFor();
  await fits('consent');

  // Consent without ticking: the error summary.
  await page.getByRole('button', { name: TEXT.next, exact: true }).click();
  await page.getByRole('heading', { name: TEXT.errorSummary, exact: true }).waitFor();
  await fits('consent with errors');

  // The documents in the dialog.
  for (const [link, doc] of [[TEXT.privacyLink, 'privacy'], [TEXT.termsLink, 'terms']]) {
    await page.getByRole('link', { name: link, exact: true }).click();
    await page.getByRole('dialog').waitFor();
    await fits(`consent with the ${doc} dialog open`);
    await page.getByRole('button', { name: TEXT.close, exact: true }).click();
    await page.getByRole('dialog').waitFor({ state: 'hidden' });
  }

  // The document pages (the no-JavaScript path).
  for (const doc of ['privacy', 'terms']) {
    await page.goto(`${demo.url}/opening/documents/${doc}`);
    await page.getByRole('link', { name: TEXT.backToConsent, exact: true }).waitFor();
    await fits(`document page ${doc}`);
  }
  await page.getByRole('link', { name: TEXT.backToConsent, exact: true }).click();
  await h1(page, TEXT.consentTitle).waitFor();
  await page.getByLabel(TEXT.privacyAgree, { exact: true }).check();
  await page.getByLabel(TEXT.termsAgree, { exact: true }).check();
  await page.getByRole('button', { name: TEXT.next, exact: true }).click();

  await h1(page, TEXT.applyTitle).waitFor();
  await fits('apply');

  // Errors on every field (a malformed number names the 支給番号 confusion: a long message).
  await fillApply(page, { email: 'not-an-address', number: '1234-567890-1', birth: { year: '1990', month: '2', day: '30' }, code: 'x' });
  await page.getByRole('button', { name: TEXT.next, exact: true }).click();
  await page.getByRole('heading', { name: TEXT.errorSummary, exact: true }).waitFor();
  await fits('apply with errors on every field');

  const email = 'yamada.taro.1990@docomo.ne.jp';
  await fillApply(page, { email, number: demo.jobSeekerNumber, birth: demo.birth, code: demo.code });
  const authKey = await submitApplyAndReadKey(page, demo, email);
  await fits('password');

  // Password errors: no symbol, confirmation mismatch, no auth key.
  await page.getByLabel(TEXT.password, { exact: true }).fill('kushiro2026');
  await page.getByLabel(TEXT.confirmation, { exact: true }).fill('kushiro2027');
  await page.getByRole('button', { name: TEXT.finish, exact: true }).click();
  await page.getByRole('heading', { name: TEXT.errorSummary, exact: true }).waitFor();
  await fits('password with errors');

  await finishPassword(page, GOOD_PASSWORD, authKey);
  await fits('done');

  t.diagnostic(`checked at 320 px: ${checked.join('; ')}`);
  assert.deepEqual(problems, []);
});

// A long address in the notice 「… あてに【認証キー】を送信しました。」 must wrap, not scroll sideways.
test('the password page fits 320 px with a 36-character email address', {
  timeout: 60_000,
}, async (t) => {
  const own = await startDemo();
  t.after(() => own.stop());
  const context = await browser.newContext({ viewport: { width: 320, height: 640 }, locale: 'ja-JP' });
  t.after(() => context.close());
  const page = await context.newPage();
  await page.goto(`${own.url}/opening/documents/privacy`);
  await page.goto(`${own.url}/opening/documents/terms`);
  await page.goto(`${own.url}/opening/consent`);
  await page.getByLabel(TEXT.privacyAgree, { exact: true }).check();
  await page.getByLabel(TEXT.termsAgree, { exact: true }).check();
  await page.getByRole('button', { name: TEXT.next, exact: true }).click();
  await h1(page, TEXT.applyTitle).waitFor();
  const email = 'kushiro.hanako.1990.04.15@icloud.com';
  await fillApply(page, { email, number: own.jobSeekerNumber, birth: own.birth, code: own.code });
  await submitApplyAndReadKey(page, own, email);
  const { width, scrollWidth, offenders } = await horizontalOverflow(page);
  assert.ok(scrollWidth <= width, `scrollWidth ${scrollWidth} > innerWidth ${width}; sticking out: ${offenders.join(', ')}`);
});
