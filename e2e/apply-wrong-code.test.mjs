// 「必要な情報の入力」 with a wrong アカウント作成コード: the error summary, the remaining tries, the
// typed values kept (but never the code), and that the right code still works afterwards.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DESKTOP, GOOD_PASSWORD, guardContext, launchBrowser, startDemo } from './lib/harness.mjs';
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

/** A well-formed code (10 characters of the code alphabet) that differs from the demo's. */
function wrongCode(code) {
  const plain = code.replace(/[^0-9A-Za-z]/g, '').toUpperCase();
  const first = plain[0] === 'A' ? 'B' : 'A';
  return `${first}${plain.slice(1, 5)}-${plain.slice(5)}`;
}

test('a wrong account creation code shows the error summary and 9 remaining tries, keeps what was typed and empties the code', { timeout: 60_000 }, async (t) => {
  const context = await browser.newContext(DESKTOP);
  t.after(() => context.close());
  const problems = await guardContext(context);
  const page = await context.newPage();

  await page.goto(`${demo.url}/opening/documents/privacy`);
  await page.goto(`${demo.url}/opening/documents/terms`);
  await page.goto(`${demo.url}/opening/consent`);
  await page.getByLabel(TEXT.privacyAgree, { exact: true }).check();
  await page.getByLabel(TEXT.termsAgree, { exact: true }).check();
  await page.getByRole('button', { name: TEXT.next, exact: true }).click();
  await h1(page, TEXT.applyTitle).waitFor();

  const email = 'kushiro.typo@example.jp';
  const typed = { email, number: demo.jobSeekerNumber, birth: demo.birth, code: wrongCode(demo.code) };
  await fillApply(page, typed);
  await page.getByRole('button', { name: TEXT.next, exact: true }).click();

  // Still 「必要な情報の入力」, with the error summary on top.
  await h1(page, TEXT.applyTitle).waitFor();
  const summary = page.getByRole('alert').filter({
    has: page.getByRole('heading', { name: TEXT.errorSummary, exact: true }),
  });
  await summary.waitFor();
  const summaryLink = summary.getByRole('link', { name: /あと9回/ });
  assert.equal(await summaryLink.count(), 1, 'the summary names the remaining tries');
  assert.equal(await summaryLink.getAttribute('href'), '#code', 'the summary links to the code field');
  // The same message next to the field, and the field is marked invalid.
  const codeField = page.getByLabel(TEXT.code, { exact: true });
  assert.equal(await codeField.getAttribute('aria-invalid'), 'true');
  const fieldMessage = page.locator('#code-error');
  assert.match(await fieldMessage.textContent(), /あと9回/);
  assert.ok((await codeField.getAttribute('aria-describedby')).split(' ').includes('code-error'));

  // What was typed is kept, except the code.
  assert.equal(await page.getByLabel(TEXT.email, { exact: true }).inputValue(), email);
  assert.equal(await page.getByLabel(TEXT.number, { exact: true }).inputValue(), demo.jobSeekerNumber);
  const birthGroup = page.getByRole('group', { name: TEXT.birth });
  assert.equal(await birthGroup.getByLabel(TEXT.year, { exact: true }).inputValue(), demo.birth.year);
  assert.equal(await birthGroup.getByLabel(TEXT.month, { exact: true }).inputValue(), demo.birth.month);
  assert.equal(await birthGroup.getByLabel(TEXT.day, { exact: true }).inputValue(), demo.birth.day);
  assert.equal(await codeField.inputValue(), '', 'the code field is empty');

  // Following the summary link puts the cursor in the code field.
  await summaryLink.click();
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'code');

  // The right code — in lower case, without the hyphen — still opens the page.
  await codeField.fill(demo.code.replace(/-/g, '').toLowerCase());
  const authKey = await submitApplyAndReadKey(page, demo, email);
  await finishPassword(page, GOOD_PASSWORD, authKey);

  assert.deepEqual(problems, []);
});
