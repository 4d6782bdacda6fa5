// SPEC §8 for the staff console (SPEC §4): axe-core (WCAG 2.0–2.2 A and AA rules) on every staff
// page, with and without its error messages, at 1280×800 with JavaScript on, in Japanese and in
// English (Accept-Language). One walk per language, each against its own demo server: the demo
// admin's first login (TOTP enrolment, password change), search, registering a job seeker, the
// printable slip, CSV import, the audit log, offices and staff members. Also checks the language of
// the page (lib/a11y.mjs). JSON reports: a11y-staff-<lang>.json in the screenshot directory.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { DESKTOP, guardContext, launchBrowser, screenshotDir, startDemo } from './lib/harness.mjs';
import { AxeRecorder, loadsAfter } from './lib/a11y.mjs';
import { pathOf } from './lib/login.mjs';
import { demoStaff, freshTotp, totp } from './lib/staff.mjs';

// Every error message is tied to its field (id, aria-describedby) and the field marked aria-invalid.
const ERROR_MESSAGE_OPTIONS = {};

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

/** Presses the (first) submit button of the form whose action is `action` (or matches the CSS attribute selector `sel`). */
async function submit(page, action, sel = `[action="${action}"]`) {
  await loadsAfter(page, () => page.locator(`form${sel} button:not([type="button"])`).first().click());
}

async function expectPath(page, expected) {
  const actual = pathOf(page);
  assert.ok(expected instanceof RegExp ? expected.test(actual) : actual === expected, `expected to be on ${expected}, on ${page.url()}`);
}

async function expectError(page, state) {
  assert.ok(await page.locator('.error-summary, .error-message').first().isVisible(), `${state}: an error shown on ${page.url()}`);
}

const CSV_HEADER = 'job_seeker_number,name,name_kana,birth_date,office_number,email,email_registered_on';

async function walk(t, { lang }) {
  const name = `staff ${lang} desktop`;
  const demo = await startDemo();
  t.after(() => demo.stop());
  const staff = demoStaff(demo.stdout);
  const recorder = new AxeRecorder(name, lang);
  const context = await browser.newContext({ ...DESKTOP, locale: lang === 'en' ? 'en-US' : 'ja-JP' });
  t.after(() => context.close());
  const problems = await guardContext(context);
  const page = await context.newPage();
  const scan = (state) => recorder.scan(page, state);

  // 職員ログイン: empty, with the error; the first login's enrolment and password change.
  await page.goto(staff.loginUrl);
  await expectPath(page, '/staff/login');
  await scan('staff login');
  await page.locator('#login_id').fill(staff.loginId);
  await page.locator('#password').fill('Wrong#password1');
  await submit(page, '/staff/login');
  await expectPath(page, '/staff/login');
  await expectError(page, 'staff login with a wrong password');
  await scan('staff login with the error');
  await page.locator('#login_id').fill(staff.loginId);
  await page.locator('#password').fill(staff.password);
  await submit(page, '/staff/login');
  await expectPath(page, '/staff/enroll');
  await scan('enroll');
  await page.locator('details summary').click();
  await scan('enroll with the manual entry open');
  const now = totp(staff.secret);
  await page.locator('#totp').fill(now === '000000' ? '111111' : '000000');
  await submit(page, '/staff/enroll');
  await expectPath(page, '/staff/enroll');
  await expectError(page, 'enroll with a wrong code');
  await scan('enroll with the error');
  await page.locator('#totp').fill(await freshTotp(staff.secret));
  await submit(page, '/staff/enroll');
  await expectPath(page, '/staff/password');
  await scan('staff password');
  await submit(page, '/staff/password');
  await expectError(page, 'staff password submitted empty');
  await scan('staff password with errors (empty)');
  const newPassword = 'Counter#2026pw';
  await page.locator('#current_password').fill(staff.password);
  await page.locator('#password').fill(newPassword);
  await page.locator('#password_confirmation').fill(newPassword);
  await submit(page, '/staff/password');

  // 求職者の検索: empty, with results.
  await expectPath(page, '/staff');
  await scan('staff home (search)');
  await page.locator('#q').fill(demo.jobSeekerNumber);
  await submit(page, '/staff');
  await scan('staff search with results');

  // 求職者の登録: empty, with errors; the job seeker's page, its edit form, the slip.
  await loadsAfter(page, () => page.locator('nav.staff-nav a[href="/staff/seekers/new"]').click());
  await expectPath(page, '/staff/seekers/new');
  await scan('new job seeker');
  await submit(page, '/staff/seekers/new');
  await expectError(page, 'new job seeker submitted empty');
  await scan('new job seeker with errors (empty)');
  await page.locator('#number').fill('01010-3001');
  await page.locator('#name').fill('釧路 三郎');
  await page.locator('#name_kana').fill('クシロ サブロウ');
  await page.locator('#birth_date').fill('1988-08-08');
  await submit(page, '/staff/seekers/new');
  await expectPath(page, /^\/staff\/seekers\/\d+$/);
  const seekerPath = pathOf(page);
  await scan('job seeker');
  await page.goto(`${demo.url}${seekerPath}/edit`);
  await scan('job seeker edit');
  await page.goto(`${demo.url}${seekerPath}`);
  await submit(page, null, `[action="${seekerPath}/code"]`);
  await page.locator('p.code').waitFor();
  await scan('slip');
  await loadsAfter(page, () => page.locator(`.toolbar a[href="${seekerPath}"]`).click());
  await scan('job seeker with a code issued');

  // CSV一括登録: empty, a file with the wrong header, a report with a refused row.
  await page.goto(`${demo.url}/staff/import`);
  await scan('import');
  const upload = async (csv) => {
    await page.locator('#file').setInputFiles({ name: 'seekers.csv', mimeType: 'text/csv', buffer: Buffer.from(csv, 'utf8') });
    await submit(page, '/staff/import');
  };
  await upload('number,name\n01010-3101,釧路 四郎\n');
  await expectError(page, 'import with a wrong header');
  await scan('import with the error (wrong header)');
  await upload(`${CSV_HEADER}\n01010-3101,釧路 四郎,クシロ シロウ,1990-01-01,01010,,\nbad-number,,,,01010,,\n`);
  await page.locator('main table').waitFor();
  await scan('import report (one refused row)');

  // 監査ログ, 安定所 (with errors), 職員 (with errors, new credentials).
  await page.goto(`${demo.url}/staff/audit`);
  await scan('audit log');
  await page.goto(`${demo.url}/staff/documents`);
  await scan('documents');
  await submit(page, '/staff/documents');
  await expectError(page, 'new document version submitted empty');
  await scan('documents with errors (empty)');
  await page.goto(`${demo.url}/staff/offices`);
  await scan('offices');
  await submit(page, '/staff/offices');
  await expectError(page, 'new office submitted empty');
  await scan('offices with errors (empty)');
  await page.goto(`${demo.url}/staff/members`);
  await scan('members');
  await submit(page, '/staff/members');
  await expectError(page, 'new member submitted empty');
  await scan('members with errors (empty)');
  await page.locator('#login_id').fill('kushiro.counter');
  await page.locator('#name').fill('釧路 窓口');
  await submit(page, '/staff/members');
  await page.locator('main .notice-success code').first().waitFor();
  await scan('members with the new credentials');

  const shots = await screenshotDir();
  await writeFile(path.join(shots, `a11y-staff-${lang}.json`), JSON.stringify(recorder, null, 2));
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

for (const lang of ['ja', 'en']) {
  test(`accessibility of every staff page, ${lang} desktop`, { timeout: 90_000 }, (t) => walk(t, { lang }));
}
