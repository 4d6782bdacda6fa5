// SPEC §8: mobile first, 320 px wide works. Every page of the opening flow, with and without its
// error messages and with the document dialog open, must fit 320 CSS px without horizontal scrolling.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  GOOD_PASSWORD, guardContext, horizontalOverflow, launchBrowser, startDemo,
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

test('every page of the opening flow fits 320 px without horizontal scrolling', async (t) => {
  // Not isMobile: a mobile viewport would zoom out to fit wide content and hide the overflow.
  const context = await browser.newContext({ viewport: { width: 320, height: 640 }, locale: 'ja-JP' });
  t.after(() => context.close());
  const problems = await guardContext(context);
  const page = await context.newPage();
  const checked = [];
  const fits = async (what) => {
    const { width, scrollWidth, offenders } = await horizontalOverflow(page);
    assert.equal(width, 320);
    assert.ok(scrollWidth <= width,
      `${what} (${page.url()}): scrollWidth ${scrollWidth} > innerWidth ${width}; sticking out: ${offenders.join(', ')}`);
    checked.push(what);
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
  for (const link of [TEXT.privacyLink, TEXT.termsLink]) {
    await page.getByRole('link', { name: link, exact: true }).click();
    await page.getByRole('dialog').waitFor();
    await fits(`consent with the ${link} dialog open`);
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

  // A long (but valid) address, as people have.
  const email = 'kushiro.hanako.job.seeker.2026.long.address@mail.example.ne.jp';
  await fillApply(page, { email, number: demo.jobSeekerNumber, birth: demo.birth, code: demo.code });
  const authKey = await submitApplyAndReadKey(page, demo, email);
  await fits('password (long email address)');

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
