// The staff console end to end on a desktop browser with JavaScript on (SPEC §4): the demo admin's
// first login (TOTP enrolment, password change), registering a job seeker, issuing a code and
// printing the A4 slip (one page), then the job seeker opens MyPage with that code and the admin
// sees the account opened and the auth key mail sent.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DESKTOP, GOOD_PASSWORD, guardContext, launchBrowser, screenshotDir, startDemo,
} from './lib/harness.mjs';
import { h1 } from './lib/flow.mjs';
import { openDemoAccount, pathOf } from './lib/login.mjs';
import { STAFF, demoStaff, firstStaffLogin, summaryAfter } from './lib/staff.mjs';
import { pdfPageCount, pdfText } from './lib/pdf.mjs';

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

const STAFF_PASSWORD = 'Counter#2026pw';
const SEEKER = {
  number: '01010-3001',
  name: '釧路 三郎',
  kana: 'クシロ サブロウ',
  birthDate: '1988-08-08',
  birth: { year: '1988', month: '8', day: '8' },
  office: '01010 ハローワーク釧路',
  email: 'kushiro.saburo@example.jp',
};
const OFFICE_NAME = 'ハローワーク釧路';
const WIFI_NOTICE = 'ハローワーク釧路内では Free WiFi が使えます → kushiro_anteisyo (パスワード:86098609)';

const WEEKDAYS = ['日', '月', '火', '水', '木', '金', '土'];
/** `2026年11月30日(月) 14:05` in JST, as the slip writes it. */
function jaDateTime(ms) {
  const d = new Date(ms + 9 * 3600_000);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}年${d.getUTCMonth() + 1}月${d.getUTCDate()}日(${WEEKDAYS[d.getUTCDay()]}) ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
}

test('an admin enrols TOTP at the first login, registers a job seeker, prints a one-page A4 slip with the code, and sees the account opened with that code and the auth key mail sent', { timeout: 120_000 }, async (t) => {
  const staff = demoStaff(demo.stdout);
  const shots = await screenshotDir();

  const staffContext = await browser.newContext(DESKTOP);
  t.after(() => staffContext.close());
  const problems = await guardContext(staffContext);
  const page = await staffContext.newPage();

  // 1. First login: enrol the authenticator app, replace the one-time password.
  await firstStaffLogin(page, staff, STAFF_PASSWORD);
  assert.equal(await page.evaluate(() => window.innerWidth), 1280);
  const nav = page.getByRole('navigation', { name: '職員メニュー' });
  for (const link of [...STAFF.nav, ...STAFF.adminNav]) {
    assert.equal(await nav.getByRole('link', { name: link, exact: true }).count(), 1, `nav link 「${link}」 for an admin`);
  }

  // 2. Register a new job seeker at ハローワーク釧路, without an email.
  await nav.getByRole('link', { name: '求職者の登録', exact: true }).click();
  await h1(page, STAFF.newTitle).waitFor();
  assert.equal(pathOf(page), '/staff/seekers/new');
  await page.getByLabel('求職番号', { exact: true }).fill(SEEKER.number);
  await page.getByLabel('氏名', { exact: true }).fill(SEEKER.name);
  await page.getByLabel('フリガナ', { exact: true }).fill(SEEKER.kana);
  const birthDate = page.getByLabel('生年月日', { exact: true });
  assert.equal(await birthDate.getAttribute('type'), 'date');
  await birthDate.fill(SEEKER.birthDate);
  assert.equal(await page.getByLabel('メールアドレス(任意)', { exact: true }).inputValue(), '');
  await page.getByLabel('安定所', { exact: true }).selectOption({ label: SEEKER.office });
  await page.screenshot({ path: path.join(shots, 'staff-seeker-new-1280.png'), fullPage: true });
  await page.getByRole('button', { name: STAFF.newSubmit, exact: true }).click();

  await h1(page, SEEKER.name).waitFor();
  const seekerPath = pathOf(page);
  assert.match(seekerPath, /^\/staff\/seekers\/\d+$/);
  for (const section of STAFF.sections) {
    await page.getByRole('heading', { level: 2, name: section, exact: true }).waitFor();
  }
  const person = await summaryAfter(page, '登録内容');
  const value = (facts, dt) => facts.find((f) => f.dt === dt)?.dd;
  assert.equal(value(person, '求職番号'), SEEKER.number, JSON.stringify(person));
  assert.equal(value(person, 'フリガナ'), SEEKER.kana);
  assert.equal(value(person, '生年月日'), SEEKER.birthDate);
  assert.equal(value(person, '安定所'), SEEKER.office);
  assert.equal(value(await summaryAfter(page, 'アカウント作成コード'), '状態'), '未発行');
  assert.equal(value(await summaryAfter(page, 'マイページ'), '状態'), STAFF.notOpened);

  // 3. Issue a code: the slip.
  const issuedFrom = Date.now();
  await page.getByRole('button', { name: STAFF.issue, exact: true }).click();
  await h1(page, STAFF.slipTitle).waitFor();
  const issuedTo = Date.now();
  const code = (await page.locator('p.code').textContent()).trim();
  assert.match(code, /^[0-9A-Z]{5}-[0-9A-Z]{5}$/, 'the code in groups of five');
  const expires = (await page.locator('p.expires').textContent()).trim();
  const fiveDays = 5 * 86400_000;
  const expected = new Set([issuedFrom, issuedTo].map((ms) => `${jaDateTime(ms + fiveDays)}まで有効`));
  assert.ok(expected.has(expires), `expiry 5 days after issuing in JST: got ${expires}, expected one of ${[...expected]}`);
  assert.equal((await page.locator('.slip .office').textContent()).trim(), OFFICE_NAME);
  assert.equal((await page.locator('.slip .name').textContent()).trim(), `${SEEKER.name} 様`);
  assert.equal(await page.locator('.slip .qr svg').count(), 1, 'a QR code of the top page');
  assert.equal((await page.locator('.slip .qr .url').textContent()).trim(), `${demo.url}/`);
  assert.equal(await page.locator('.slip .how ol > li').count(), 5, 'the five steps');
  assert.equal(await page.locator('.slip .cautions li').count(), 3, 'the three cautions');
  await page.getByText('アカウント作成コードの有効期限は5日間です。', { exact: true }).waitFor();
  await page.getByText('アカウント作成コードは、10回間違えて入力すると無効になります。', { exact: true }).waitFor();
  await page.getByText(WIFI_NOTICE, { exact: true }).waitFor();
  await page.screenshot({ path: path.join(shots, 'staff-slip-screen-1280.png'), fullPage: true });

  // 4. Print: the toolbar is hidden, the code and expiry are printed, and it fits one A4 page.
  await page.emulateMedia({ media: 'print' });
  assert.equal(await page.locator('.toolbar').isVisible(), false, 'the toolbar is not printed');
  for (const [selector, text] of [['p.code', code], ['p.expires', expires]]) {
    const el = page.locator(selector);
    assert.ok(await el.isVisible(), `${selector} is printed`);
    assert.equal((await el.innerText()).trim(), text, `${selector} in print media`);
  }
  const pdf = await page.pdf({ format: 'A4', printBackground: true, preferCSSPageSize: true });
  await writeFile(path.join(shots, 'staff-slip.pdf'), pdf);
  assert.equal(pdfPageCount(pdf), 1, 'the slip prints on exactly one page');
  const printed = pdfText(pdf);
  if (printed !== undefined) {
    // Compared without white space (lines break anywhere), both NFKC like pdfText().
    const flat = (s) => s.normalize('NFKC').replace(/\s+/g, '');
    for (const text of [code, expires, `${SEEKER.name} 様`, OFFICE_NAME, WIFI_NOTICE]) {
      assert.ok(flat(printed).includes(flat(text)), `the PDF text has 「${text}」:\n${printed}`);
    }
    for (const text of ['印刷する', '求職者の画面に戻る']) {
      assert.ok(!flat(printed).includes(flat(text)), `the toolbar (「${text}」) is not printed:\n${printed}`);
    }
  } else {
    t.diagnostic('PDF text not extractable here: checked the DOM text in print media instead');
  }
  // The same in the A4 page box (210 × 297 mm less 15 mm margins = 180 × 267 mm, 96 px per inch):
  // a picture of the printed page, and how much room is left on it.
  const mm = 96 / 25.4;
  await page.setViewportSize({ width: Math.floor(180 * mm), height: Math.floor(267 * mm) });
  const used = await page.evaluate(() => Math.ceil(Math.max(...[...document.body.children].map((el) => el.getBoundingClientRect().bottom + parseFloat(getComputedStyle(el).marginBottom)))));
  t.diagnostic(`slip in print media: ${used} px of ${Math.floor(267 * mm)} px of an A4 page's height`);
  assert.ok(used <= Math.floor(267 * mm), `the slip fits the A4 page box (${used} px)`);
  await page.screenshot({ path: path.join(shots, 'staff-slip-print-a4.png'), fullPage: true });
  await page.setViewportSize(DESKTOP.viewport);
  await page.emulateMedia({ media: 'screen' });

  // 5. The job seeker opens MyPage with the code, in a browser of their own.
  const seekerContext = await browser.newContext(DESKTOP);
  t.after(() => seekerContext.close());
  const seekerPage = await seekerContext.newPage();
  const seekerProblems = await guardContext(seekerContext);
  await openDemoAccount(seekerPage, { ...demo, jobSeekerNumber: SEEKER.number, birth: SEEKER.birth, code }, SEEKER.email, GOOD_PASSWORD);

  // 6. The admin sees the account opened and the auth key mail sent (the outbox sends within seconds).
  await page.goto(`${demo.url}${seekerPath}`);
  await h1(page, SEEKER.name).waitFor();
  let account;
  let mails;
  let codeFacts;
  const deadline = Date.now() + 20_000;
  for (;;) {
    account = await summaryAfter(page, 'マイページ');
    mails = await summaryAfter(page, 'メールの送信履歴');
    codeFacts = await summaryAfter(page, 'アカウント作成コード');
    const keyMail = mails.find((m) => m.dt.includes(`${STAFF.authKeyMail} → ${SEEKER.email}`));
    if (value(account, '状態') === STAFF.opened && keyMail?.dd.startsWith(STAFF.sent)) break;
    if (Date.now() > deadline) break;
    await sleep(500);
    await page.reload();
    await h1(page, SEEKER.name).waitFor();
  }
  assert.equal(value(account, '状態'), STAFF.opened, JSON.stringify(account));
  assert.equal(value(account, 'ログインID'), SEEKER.email);
  assert.equal(value(codeFacts, '状態'), '使用済み(開設済み)', JSON.stringify(codeFacts));
  const keyMail = mails.find((m) => m.dt.includes(`${STAFF.authKeyMail} → ${SEEKER.email}`));
  assert.ok(keyMail, `an auth key mail to ${SEEKER.email} in 「メールの送信履歴」: ${JSON.stringify(mails)}`);
  assert.match(keyMail.dd, /^送信済み\(.+\)$/, `the auth key mail is sent: ${JSON.stringify(keyMail)}`);
  assert.equal(await page.getByRole('button', { name: STAFF.issue, exact: true }).count(), 0, 'no new code for an opened account');
  await page.screenshot({ path: path.join(shots, 'staff-seeker-opened-1280.png'), fullPage: true });

  assert.deepEqual(problems, []);
  assert.deepEqual(seekerProblems, []);
});
