// SPEC §8: WCAG 2.2 AA / JIS X 8341-3:2016 AA. axe-core (WCAG 2.0–2.2 A and AA rules) on every
// page of every job-seeker flow, with and without its error messages and with the document dialog
// open, in Japanese and English, on a phone (360×740) and a desktop (1280×800), JavaScript on.
// One walk per language × size, each against its own demo server: opening → login with OTP →
// My Page and its settings → logout → 「パスワードをお忘れの方」. Also checks the language of the page
// and of its parts (what axe cannot tell): see lib/a11y.mjs.
//
// Every state is scanned and all findings are reported together at the end of a walk; the JSON
// report is written to the screenshot directory (a11y-seeker-<walk>.json).
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  DESKTOP, GOOD_PASSWORD, PHONE, guardContext, launchBrowser, mailSnapshot, screenshotDir, startDemo,
  waitForNewMail,
} from './lib/harness.mjs';
import { AxeRecorder, axeViolations, loadsAfter, mailedDigits } from './lib/a11y.mjs';
import { pathOf } from './lib/login.mjs';

// Every error message is tied to its field (id, aria-describedby) and the field marked aria-invalid.
const ERROR_MESSAGE_OPTIONS = {};

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

/** Presses the submit button of the form posting to `action` and waits for the page it leads to. */
async function submit(page, action) {
  await loadsAfter(page, () => page.locator(`form[action="${action}"] button[type="submit"]:not([form])`).first().click());
}

async function fillBirth(page, { year, month, day }) {
  await page.locator('#birth_year').fill(year);
  await page.locator('#birth_month').fill(month);
  await page.locator('#birth_day').fill(day);
}

async function expectPath(page, expected) {
  assert.equal(pathOf(page), expected, `expected to be on ${expected}, on ${page.url()}`);
}

async function expectErrorSummary(page, state) {
  assert.ok(await page.locator('.error-summary').isVisible(), `${state}: an error summary on ${page.url()}`);
}

/**
 * The walk. `lang`: the language the pages are asked in; `via`: 'switch' (start in Japanese and use
 * the header link 「English」 → /lang/en) or 'accept-language' (the browser's locale en-US).
 */
async function walk(t, { name, device, lang, via }) {
  const demo = await startDemo();
  t.after(() => demo.stop());
  const recorder = new AxeRecorder(name, lang);
  const locale = lang === 'en' && via === 'accept-language' ? 'en-US' : 'ja-JP';
  const context = await browser.newContext({ ...device, locale });
  t.after(() => context.close());
  const problems = await guardContext(context);
  const page = await context.newPage();
  const scan = (state) => recorder.scan(page, state);
  const email = `a11y.${name.replace(/\W+/g, '.').replace(/^\.|\.$/g, '').toLowerCase()}@example.jp`;

  // Top page, and the language.
  await page.goto(`${demo.url}/`);
  if (lang === 'en' && via === 'switch') {
    const link = page.locator('header a.lang-switch');
    assert.equal((await link.textContent()).trim(), 'English');
    await loadsAfter(page, () => link.click());
    await expectPath(page, '/');
  }
  assert.equal(await page.evaluate(() => document.documentElement.lang), lang, 'the page language');
  await scan('top page');

  // 「求職者マイページ利用規約確認」: empty, with errors, each document in the dialog.
  await loadsAfter(page, () => page.locator('main a[href="/opening/consent"]').click());
  await expectPath(page, '/opening/consent');
  await scan('consent');
  await submit(page, '/opening/consent');
  await expectErrorSummary(page, 'consent submitted unticked');
  await scan('consent with errors');
  for (const doc of ['privacy', 'terms']) {
    await page.locator(`a[data-document="${doc}"]`).click();
    await page.locator('dialog[open] article.document').waitFor();
    await scan(`consent with the ${doc} dialog open`);
    await page.locator('dialog[open] button[value="close"]').click();
    await page.locator('dialog').waitFor({ state: 'hidden' });
  }
  await page.locator('#agree_privacy:enabled').waitFor();

  // The document pages (the path without JavaScript), and back.
  for (const doc of ['privacy', 'terms']) {
    await page.goto(`${demo.url}/opening/documents/${doc}`);
    await page.locator('article.document').waitFor();
    await scan(`document page ${doc}`);
  }
  await loadsAfter(page, () => page.locator('main a.button[href="/opening/consent"]').click());
  await expectPath(page, '/opening/consent');
  await page.locator('#agree_privacy').check();
  await page.locator('#agree_terms').check();
  await submit(page, '/opening/consent');

  // 「必要な情報の入力」: empty, errors on every field, a wrong code.
  await expectPath(page, '/opening/apply');
  await scan('apply');
  await submit(page, '/opening/apply');
  await expectErrorSummary(page, 'apply submitted empty');
  await scan('apply with errors (empty)');
  await page.locator('#email').fill('not-an-address');
  await page.locator('#job_seeker_number').fill('1234-567890-1');
  await fillBirth(page, { year: '1990', month: '2', day: '30' });
  await page.locator('#code').fill('x');
  await submit(page, '/opening/apply');
  await expectErrorSummary(page, 'apply with malformed values');
  await scan('apply with errors on every field');
  const fillGood = async (code) => {
    await page.locator('#email').fill(email);
    await page.locator('#job_seeker_number').fill(demo.jobSeekerNumber);
    await fillBirth(page, demo.birth);
    await page.locator('#code').fill(code);
  };
  await fillGood(demo.code.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')));
  await submit(page, '/opening/apply');
  await expectPath(page, '/opening/apply');
  await scan('apply with a wrong code');
  let seen = await mailSnapshot(demo.mailDir);
  await fillGood(demo.code);
  await submit(page, '/opening/apply');

  // 「パスワード登録」: empty, with errors.
  await expectPath(page, '/opening/password');
  const authKey = mailedDigits(await waitForNewMail(demo.mailDir, seen, { to: email }));
  await scan('password');
  await submit(page, '/opening/password');
  await expectErrorSummary(page, 'password submitted empty');
  await scan('password with errors (empty)');
  await page.locator('#password').fill('kushiro2026');
  await page.locator('#password_confirmation').fill('kushiro2027');
  await page.locator('#auth_key').fill('12');
  await submit(page, '/opening/password');
  await expectErrorSummary(page, 'password with a weak password');
  await scan('password with errors (rule, confirmation, auth key)');
  await page.locator('#password').fill(GOOD_PASSWORD);
  await page.locator('#password_confirmation').fill(GOOD_PASSWORD);
  await page.locator('#auth_key').fill(authKey);
  await submit(page, '/opening/password');

  // 「パスワード登録完了」.
  await expectPath(page, '/opening/done');
  await scan('done');

  // Login: empty, wrong password, then the OTP page, a wrong OTP, and My Page.
  await loadsAfter(page, () => page.locator('main a.button[href="/login"]').click());
  await expectPath(page, '/login');
  await scan('login');
  await submit(page, '/login');
  await scan('login with errors (empty)');
  await page.locator('#email').fill(email);
  await page.locator('#password').fill('Wrong#password1');
  await submit(page, '/login');
  await expectPath(page, '/login');
  await expectErrorSummary(page, 'login with a wrong password');
  await scan('login with the error (wrong password)');
  seen = await mailSnapshot(demo.mailDir);
  await page.locator('#email').fill(email);
  await page.locator('#password').fill(GOOD_PASSWORD);
  await submit(page, '/login');
  await expectPath(page, '/login/otp');
  const otp = mailedDigits(await waitForNewMail(demo.mailDir, seen, { to: email }));
  await scan('login/otp');
  await page.locator('#otp').fill(otp === '000000' ? '111111' : '000000');
  await submit(page, '/login/otp');
  await expectPath(page, '/login/otp');
  await expectErrorSummary(page, 'a wrong OTP');
  await scan('login/otp with a wrong OTP');
  await page.locator('#otp').fill(otp);
  await page.locator('#remember').check();
  await submit(page, '/login/otp');
  await expectPath(page, '/mypage');
  await scan('mypage');

  // Settings: as shown (a remembered browser, the login history), with errors, the email change.
  await loadsAfter(page, () => page.locator('main a[href="/mypage/settings"]').click());
  await expectPath(page, '/mypage/settings');
  await scan('settings');
  await submit(page, '/mypage/settings/password');
  await expectErrorSummary(page, 'settings password change submitted empty');
  await scan('settings with errors (password change)');
  await page.locator('#email').fill('not-an-address');
  await submit(page, '/mypage/settings/email');
  await expectErrorSummary(page, 'settings email change with a malformed address');
  await scan('settings with errors (email change)');
  // The change of login ID asks for the current password.
  await page.locator('#email').fill(`new.${email}`);
  await page.locator('#email_password').fill(GOOD_PASSWORD);
  await submit(page, '/mypage/settings/email');
  await expectPath(page, '/mypage/settings/email/confirm');
  await scan('settings email confirmation');
  await submit(page, '/mypage/settings/email/confirm');
  await scan('settings email confirmation with errors (empty)');
  await page.goto(`${demo.url}/mypage`);
  await submit(page, '/logout');
  await expectPath(page, '/login');
  await scan('login after logout (notice)');

  // 「パスワードをお忘れの方」: empty, errors, the new password page, done.
  await loadsAfter(page, () => page.locator('main a[href="/login/forgot"]').click());
  await expectPath(page, '/login/forgot');
  await scan('forgot');
  await submit(page, '/login/forgot');
  await expectErrorSummary(page, 'forgot submitted empty');
  await scan('forgot with errors (empty)');
  seen = await mailSnapshot(demo.mailDir);
  await page.locator('#email').fill(email);
  await page.locator('#job_seeker_number').fill(demo.jobSeekerNumber);
  await fillBirth(page, demo.birth);
  await submit(page, '/login/forgot');
  await expectPath(page, '/login/forgot/password');
  const resetKey = mailedDigits(await waitForNewMail(demo.mailDir, seen, { to: email }));
  await scan('forgot/password');
  await submit(page, '/login/forgot/password');
  await expectErrorSummary(page, 'new password submitted empty');
  await scan('forgot/password with errors (empty)');
  const newPassword = 'Akan#lake2027';
  await page.locator('#password').fill(newPassword);
  await page.locator('#password_confirmation').fill(newPassword);
  await page.locator('#auth_key').fill(resetKey);
  await submit(page, '/login/forgot/password');
  await expectPath(page, '/login/forgot/done');
  await scan('forgot/done');

  // The error page.
  await page.goto(`${demo.url}/no-such-page`);
  await scan('not found (error page)');

  const shots = await screenshotDir();
  await writeFile(path.join(shots, `a11y-seeker-${name.replace(/\W+/g, '-').replace(/^-|-$/g, '')}.json`), JSON.stringify(recorder, null, 2));
  t.diagnostic(`${recorder.scanned.length} states scanned: ${recorder.scanned.join('; ')}`);
  assert.deepEqual(problems, []);
  await t.test('axe-core: no violation of the WCAG 2.0–2.2 A/AA rules', () => {
    assert.ok(recorder.found.length === 0, `axe violations in the ${name} walk:\n\n${recorder.axeReport()}`);
  });
  await t.test('the language of the page and of its parts is marked up (WCAG 3.1.1, 3.1.2)', () => {
    assert.ok(recorder.language.length === 0, `language problems in the ${name} walk:\n${recorder.language.join('\n')}`);
  });
  await t.test('every error message is tied to its field (GOV.UK error message pattern: aria-describedby, aria-invalid)', ERROR_MESSAGE_OPTIONS, () => {
    assert.ok(recorder.errorMessages.length === 0, `error messages not tied to their fields in the ${name} walk:\n${recorder.errorMessages.join('\n')}`);
  });
}

const WALKS = [
  { name: 'ja phone', device: PHONE, lang: 'ja' },
  { name: 'ja desktop', device: DESKTOP, lang: 'ja' },
  { name: 'en phone (header switch)', device: PHONE, lang: 'en', via: 'switch' },
  { name: 'en desktop (Accept-Language)', device: DESKTOP, lang: 'en', via: 'accept-language' },
];

for (const w of WALKS) {
  test(`accessibility of every job-seeker page, ${w.name}`, { timeout: 90_000 }, (t) => walk(t, w));
}

// The harness itself: axe runs under the app's CSP and reports what is planted (so a silent
// failure to inject it cannot pass the walks above).
test('the axe harness runs under the app\'s CSP and finds planted violations', { timeout: 30_000 }, async (t) => {
  const demo = await startDemo();
  t.after(() => demo.stop());
  const context = await browser.newContext(DESKTOP);
  t.after(() => context.close());
  const page = await context.newPage();
  const response = await page.goto(`${demo.url}/`);
  assert.match(response.headers()['content-security-policy'] ?? '', /script-src 'self'/, 'the page is served with its CSP');
  const clean = await axeViolations(page);
  assert.deepEqual(clean.map((v) => v.id), [], 'the top page itself is clean');
  await page.evaluate(() => {
    const main = document.querySelector('main');
    main.append(Object.assign(document.createElement('input'), { type: 'text', id: 'planted-input' }));
    const p = Object.assign(document.createElement('p'), { textContent: 'planted low contrast text' });
    p.style.color = '#c8c8c8';
    main.append(p);
    const img = document.createElement('img');
    img.src = 'data:image/gif;base64,R0lGODlhAQABAAAAACw=';
    main.append(img);
  });
  const planted = (await axeViolations(page)).map((v) => v.id).sort();
  assert.deepEqual(planted, ['color-contrast', 'image-alt', 'label']);
});
