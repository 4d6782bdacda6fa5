// The staff console (SPEC §4): the demo admin's credentials, TOTP codes (RFC 6238) computed here,
// and the first login (enrolment, password change) written with the visible texts.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { h1 } from './flow.mjs';
import { pathOf } from './login.mjs';

export const STAFF = {
  loginTitle: '職員ログイン',
  loginId: '職員ID',
  password: 'パスワード',
  totp: '認証アプリの6桁のコード',
  login: 'ログイン',
  enrollTitle: '認証アプリの登録',
  enrollManual: '二次元コードを読み取れない場合',
  enrollSubmit: '登録する',
  passwordTitle: 'パスワードの変更',
  currentPassword: '現在のパスワード',
  newPassword: '新しいパスワード',
  newConfirmation: '新しいパスワード (確認用)',
  passwordSubmit: '変更する',
  homeTitle: '求職者の検索',
  nav: ['求職者の検索', '求職者の登録', 'CSV一括登録'],
  adminNav: ['監査ログ', '安定所', '職員'],
  newTitle: '求職者の登録',
  newSubmit: '登録する',
  sections: ['登録内容', 'アカウント作成コード', 'マイページ', 'メールの送信履歴', '操作の記録'],
  issue: 'アカウント作成コードを発行して用紙を印刷',
  slipTitle: '求職者マイページ アカウント作成コードのお知らせ',
  opened: '開設済み',
  notOpened: '未開設',
  authKeyMail: '認証キー',
  sent: '送信済み',
};

/** The staff console block of the `mypage demo` output: login URL, staff ID, one-time password, TOTP secret. */
export function demoStaff(stdout) {
  const at = stdout.search(/^Staff console /m);
  assert.ok(at >= 0, `no 「Staff console」 block in the demo output:\n${stdout}`);
  const block = stdout.slice(at);
  const get = (label) => block.match(new RegExp(`^\\s*${label}:\\s*(.+?)\\s*$`, 'm'))?.[1];
  const loginUrl = block.match(/^Staff console (\S+?):?\s*$/m)?.[1];
  const otpauth = get('TOTP');
  const staff = { loginUrl, loginId: get('staff ID'), password: get('one-time password'), otpauth };
  for (const [k, v] of Object.entries(staff)) assert.ok(v, `could not read the staff "${k}" from the demo output:\n${block}`);
  staff.secret = totpSecret(otpauth);
  return staff;
}

/** The base32 secret of an otpauth:// URL (checked: SHA1, 6 digits, 30 s, as RFC 6238 defaults). */
export function totpSecret(otpauthUrl) {
  const url = new URL(otpauthUrl);
  assert.equal(url.protocol, 'otpauth:');
  const params = url.searchParams;
  for (const [k, v] of [['algorithm', 'SHA1'], ['digits', '6'], ['period', '30']]) {
    if (params.has(k)) assert.equal(params.get(k).toUpperCase(), v, `${k} of ${otpauthUrl}`);
  }
  const secret = params.get('secret');
  assert.match(secret ?? '', /^[A-Z2-7]+=*$/i, `base32 secret in ${otpauthUrl}`);
  return secret;
}

/** RFC 4648 base32 (no padding needed, case-insensitive). */
export function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of text.replace(/=+$/, '').toUpperCase()) {
    const idx = alphabet.indexOf(ch);
    if (idx < 0) throw new Error(`not base32: ${JSON.stringify(ch)}`);
    value = (value << 5) | idx;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** HOTP (RFC 4226) with HMAC-SHA1 and 6 digits. */
export function hotp(key, counter) {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', key).update(msg).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const bin = ((mac[offset] & 0x7f) << 24) | (mac[offset + 1] << 16) | (mac[offset + 2] << 8) | mac[offset + 3];
  return String(bin % 1_000_000).padStart(6, '0');
}

/** TOTP (RFC 6238): 30-second steps since the Unix epoch. */
export function totp(secret, unixMs = Date.now()) {
  return hotp(base32Decode(secret), Math.floor(unixMs / 1000 / 30));
}

/**
 * A TOTP code that stays valid for at least `marginMs` more: if the current step ends sooner,
 * waits for the next one (the server may also refuse a step that was already used).
 */
export async function freshTotp(secret, marginMs = 4000) {
  const left = 30_000 - (Date.now() % 30_000);
  if (left < marginMs) await sleep(left + 200);
  return totp(secret);
}

/** On 「職員ログイン」 (opened if needed): fills staff ID, password and TOTP (maybe empty), presses 「ログイン」. */
export async function submitStaffLogin(page, staff, { password = staff.password, code = '' } = {}) {
  if (pathOf(page) !== '/staff/login') await page.goto(staff.loginUrl);
  await h1(page, STAFF.loginTitle).waitFor();
  await page.getByLabel(STAFF.loginId, { exact: true }).fill(staff.loginId);
  await page.getByLabel(STAFF.password, { exact: true }).fill(password);
  await page.getByLabel(STAFF.totp, { exact: true }).fill(code);
  await page.getByRole('button', { name: STAFF.login, exact: true }).click();
}

/**
 * First login of a staff member with the one-time password: 「認証アプリの登録」 with the TOTP of the
 * secret shown there (checked equal to `staff.secret`), then 「パスワードの変更」 to `newPassword`
 * (the current password asked there is the one-time password); ends on 「求職者の検索」 (/staff).
 */
export async function firstStaffLogin(page, staff, newPassword) {
  await submitStaffLogin(page, staff);
  await h1(page, STAFF.enrollTitle).waitFor();
  assert.equal(pathOf(page), '/staff/enroll');
  assert.equal(await page.locator('.qr svg, [role="img"] svg').count() > 0, true, 'a QR code (inline svg) to scan');
  await page.getByText(STAFF.enrollManual, { exact: true }).click();
  const shownUrl = (await page.locator('code').filter({ hasText: 'otpauth://' }).first().textContent()).trim();
  assert.equal(totpSecret(shownUrl), staff.secret, 'the enrolment page shows the secret the CLI printed');
  await page.getByLabel(STAFF.totp, { exact: true }).fill(await freshTotp(staff.secret));
  await page.getByRole('button', { name: STAFF.enrollSubmit, exact: true }).click();

  await h1(page, STAFF.passwordTitle).waitFor();
  assert.equal(pathOf(page), '/staff/password');
  await page.getByLabel(STAFF.currentPassword, { exact: true }).fill(staff.password);
  await page.getByLabel(STAFF.newPassword, { exact: true }).fill(newPassword);
  await page.getByLabel(STAFF.newConfirmation, { exact: true }).fill(newPassword);
  await page.getByRole('button', { name: STAFF.passwordSubmit, exact: true }).click();

  await h1(page, STAFF.homeTitle).waitFor();
  assert.equal(pathOf(page), '/staff');
}

/** The texts of the <dd> values of the <dl class="summary"> right after the <h2> `heading`, by <dt>. */
export async function summaryAfter(page, heading) {
  return page.evaluate((name) => {
    const h2 = [...document.querySelectorAll('h2')].find((h) => h.textContent.trim() === name);
    if (!h2) return null;
    let el = h2.nextElementSibling;
    while (el && el.tagName !== 'H2' && !(el.tagName === 'DL')) el = el.nextElementSibling;
    if (!el || el.tagName !== 'DL') return [];
    return [...el.querySelectorAll(':scope > div')].map((d) => ({
      dt: d.querySelector('dt')?.textContent.trim() ?? '',
      dd: d.querySelector('dd')?.textContent.trim() ?? '',
    }));
  }, heading);
}
