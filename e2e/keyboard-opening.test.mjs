// SPEC §8 (WCAG 2.1.1 Keyboard, 2.4.7 Focus Visible, 2.4.11 Focus Not Obscured, 3.3.1 Error
// Identification): the whole opening flow with the keyboard alone — Tab, Shift+Tab, Space and Enter,
// and typing into the field that has the focus; no mouse, no fill() — at 1280×800 with JavaScript
// on, from the top page to 「パスワード登録完了」. At every focus stop the focused element must show
// a focus indicator (a non-'none' outline or box-shadow) and be inside the window; after each failed
// submission the focus must be on the error summary.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  DESKTOP, GOOD_PASSWORD, guardContext, launchBrowser, mailSnapshot, startDemo, waitForNewMail,
} from './lib/harness.mjs';
import { TEXT, h1 } from './lib/flow.mjs';
import { focusStyle, mailedDigits } from './lib/a11y.mjs';
import { pathOf } from './lib/login.mjs';

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

test('the opening flow can be done with the keyboard alone, the focus is always visible, and a failed submission puts the focus on the error summary', { timeout: 60_000 }, async (t) => {
  const context = await browser.newContext(DESKTOP);
  t.after(() => context.close());
  const problems = await guardContext(context);
  const page = await context.newPage();
  const stops = [];      // every focus stop, for the record
  const unseen = [];     // focus stops without a visible indicator, or outside the window
  let presses = 0;

  /** Checks the focused element now; `how` says how it got the focus. */
  const checkFocus = async (how) => {
    const f = await focusStyle(page);
    const where = `${pathOf(page)}: ${how} → ${f.what}`;
    stops.push(where);
    if (f.none) unseen.push(`${where}: nothing focused`);
    else if (!f.visible) unseen.push(`${where}: no focus indicator (outline ${f.outline}, box-shadow ${f.boxShadow})`);
    else if (!f.onScreen) unseen.push(`${where}: focused but outside the window`);
    return f;
  };
  const press = async (key) => {
    presses++;
    await page.keyboard.press(key);
    return checkFocus(key);
  };
  /** Presses Tab (or Shift+Tab) until the focused element matches `selector`; at most `max` times. */
  const tabTo = async (selector, { back = false, max = 30 } = {}) => {
    for (let i = 0; i < max; i++) {
      await press(back ? 'Shift+Tab' : 'Tab');
      if (await page.evaluate((sel) => document.activeElement?.matches(sel) ?? false, selector)) return;
    }
    throw new Error(`${max} × ${back ? 'Shift+Tab' : 'Tab'} on ${page.url()} did not reach ${selector}; stops:\n${stops.slice(-max).join('\n')}`);
  };
  /** Presses `key` on the focused control and waits for the page it leads to. */
  const pressAndLoad = async (key) => {
    const loaded = page.waitForEvent('load');
    presses++;
    await page.keyboard.press(key);
    await loaded;
  };
  const type = async (selector, text) => {
    await tabTo(selector);
    assert.equal(await page.evaluate(() => document.activeElement.value), '', `${selector} starts empty`);
    await page.keyboard.type(text);
  };
  /** After a failed submission: the error summary has the focus, and shows it. */
  const expectSummaryFocused = async (what) => {
    await page.locator('.error-summary').waitFor();
    const f = await checkFocus(`after the failed submission of ${what}`);
    assert.ok(f.classes?.includes('error-summary'), `after the failed submission of ${what} the focus is on the error summary, not on ${f.what}`);
  };

  // Top page: the first Tab reaches the skip link; on to 「アカウント作成コードを…」.
  await page.goto(`${demo.url}/`);
  const first = await press('Tab');
  assert.ok(first.classes.includes('skip-link'), `the first Tab stop is the skip link, not ${first.what}`);
  await tabTo('main a[href="/opening/consent"]');
  await pressAndLoad('Enter');
  await h1(page, TEXT.consentTitle).waitFor();

  // Consent: submit unticked (a failed submission), then read both documents in the dialog.
  await tabTo('form[action="/opening/consent"] button[type="submit"]');
  await pressAndLoad('Enter');
  await expectSummaryFocused('the consent form (nothing ticked)');
  for (const [doc, closeKey] of [['privacy', 'Enter'], ['terms', 'Space']]) {
    await tabTo(`a[data-document="${doc}"]`);
    presses++;
    await page.keyboard.press('Enter');
    await page.locator('dialog[open] article.document').waitFor();
    const inDialog = await checkFocus(`Enter on the ${doc} link`);
    assert.equal(inDialog.tag, 'h1', `the dialog starts with the focus on its heading, not ${inDialog.what}`);
    await tabTo('dialog[open] button[value="close"]', { max: 5 });
    presses++;
    await page.keyboard.press(closeKey);
    await page.locator('dialog').waitFor({ state: 'hidden' });
    const back = await checkFocus(`${closeKey} on 閉じる`);
    assert.ok(await page.evaluate((d) => document.activeElement.matches(`a[data-document="${d}"]`), doc),
      `closing the dialog returns the focus to the ${doc} link, not ${back.what}`);
  }
  // The focus is on the terms link: Shift+Tab back to the privacy box, Space; then the terms box.
  await tabTo('#agree_privacy', { back: true, max: 3 });
  await press('Space');
  await tabTo('#agree_terms', { max: 3 });
  await press('Space');
  assert.equal(await page.locator('#agree_privacy').isChecked(), true, 'Space ticked the privacy box');
  assert.equal(await page.locator('#agree_terms').isChecked(), true, 'Space ticked the terms box');
  await tabTo('form[action="/opening/consent"] button[type="submit"]', { max: 3 });
  await pressAndLoad('Enter');

  // 必要な情報の入力: submit empty (a failed submission), then type every field and submit.
  await h1(page, TEXT.applyTitle).waitFor();
  await tabTo('form[action="/opening/apply"] button[type="submit"]');
  await pressAndLoad('Enter');
  await expectSummaryFocused('the application (all empty)');
  const email = 'keyboard.only@example.jp';
  await type('#email', email);
  await type('#job_seeker_number', demo.jobSeekerNumber);
  await type('#birth_year', demo.birth.year);
  await type('#birth_month', demo.birth.month);
  await type('#birth_day', demo.birth.day);
  await type('#code', demo.code);
  const seen = await mailSnapshot(demo.mailDir);
  await tabTo('form[action="/opening/apply"] button[type="submit"]');
  await pressAndLoad('Space');

  // パスワード登録: a confirmation that does not match (a failed submission), then the real thing.
  await h1(page, TEXT.passwordTitle).waitFor();
  const authKey = mailedDigits(await waitForNewMail(demo.mailDir, seen, { to: email }));
  await type('#password', GOOD_PASSWORD);
  await type('#password_confirmation', `${GOOD_PASSWORD}x`);
  await type('#auth_key', authKey);
  await tabTo('form[action="/opening/password"] button[type="submit"]');
  await pressAndLoad('Enter');
  await expectSummaryFocused('the password form (confirmation does not match)');
  await type('#password', GOOD_PASSWORD);
  await type('#password_confirmation', GOOD_PASSWORD);
  await type('#auth_key', authKey);
  await tabTo('form[action="/opening/password"] button[type="submit"]');
  await pressAndLoad('Enter');

  await h1(page, TEXT.doneTitle).waitFor();
  assert.equal(pathOf(page), '/opening/done');
  await tabTo('main a.button[href="/login"]');

  t.diagnostic(`${presses} key presses, ${stops.length} focus stops checked`);
  if (process.env.E2E_KEYBOARD_STOPS) for (const s of stops) t.diagnostic(s);
  assert.deepEqual(problems, []);
  assert.ok(unseen.length === 0, `focus not visible at ${unseen.length} of ${stops.length} stops:\n${unseen.join('\n')}`);
});
