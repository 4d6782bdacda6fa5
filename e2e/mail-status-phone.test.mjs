// The waiting screen follows its own mail (issue 11) on a 360×740 phone, with JavaScript (the
// status line moves from "waiting" to "handed over at HH:MM" by itself) and without (the page
// states it as of its load; the reload link shows the change). The state moves for real: the
// service runs `mypage serve` with SMTP to a small server started here, which holds its answer
// to each message until the test lets it go.
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { MYPAGE_BIN, PHONE, eventually, guardContext, launchBrowser, screenshotDir } from './lib/harness.mjs';
import { TEXT, fillApply, h1 } from './lib/flow.mjs';
import { acceptConsent } from './lib/login.mjs';

const run = promisify(execFile);

const WAITING = 'メールは送信の順番を待っています';
const HANDED = /\d\d:\d\dにメールサーバーへ送信しました/;
const RELOAD = '送信状況を更新する';

/** An SMTP server that accepts everything but holds the reply to each message while `held`. */
class HeldSmtp {
  constructor() {
    this.held = true;
    this.waiting = [];
    this.received = [];
    this.server = createServer((socket) => this.#session(socket));
  }

  async start() {
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this.server.address().port;
  }

  hold() { this.held = true; }

  release() {
    this.held = false;
    for (const answer of this.waiting.splice(0)) answer();
  }

  close() { this.server.close(); }

  #session(socket) {
    socket.setEncoding('utf8');
    socket.write('220 held.test ESMTP\r\n');
    let buffer = '';
    let data = null;
    socket.on('data', (chunk) => {
      buffer += chunk;
      for (;;) {
        const end = buffer.indexOf('\r\n');
        if (end < 0) return;
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (data !== null) {
          if (line === '.') {
            const message = data;
            data = null;
            const answer = () => { this.received.push(message); socket.write('250 queued\r\n'); };
            if (this.held) this.waiting.push(answer); else answer();
          } else {
            data += `${line}\n`;
          }
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') socket.write('250-held.test\r\n250 8BITMIME\r\n');
        else if (verb === 'DATA') { data = ''; socket.write('354 go ahead\r\n'); }
        else if (verb === 'QUIT') { socket.end('221 bye\r\n'); }
        else socket.write('250 OK\r\n');
      }
    });
    socket.on('error', () => {});
  }
}

async function freePort() {
  const srv = createServer();
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address();
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

let smtp;
let service;
let browser;

/** `mypage serve` on a fresh SQLite file, mail over SMTP to `smtp`, two job seekers with codes. */
async function startService(smtpPort) {
  const dir = await mkdtemp(path.join(tmpdir(), 'mypage-e2e-mail-'));
  const port = await freePort();
  const url = `http://localhost:${port}`;
  const env = {
    ...process.env,
    MYPAGE_DATA_DIR: dir,
    MYPAGE_DATABASE_URL: `sqlite://${path.join(dir, 'mypage.db')}`,
    MYPAGE_MAIL: `smtp://127.0.0.1:${smtpPort}`,
    MYPAGE_MAIL_FROM: '求職者マイページ <no-reply@mypage.example.jp>',
    MYPAGE_BASE_URL: url,
  };
  const cli = (...args) => run(MYPAGE_BIN, args, { env });
  await cli('migrate');
  await cli('offices', 'add', '--number', '01010', '--name', 'ハローワーク釧路');
  const csv = path.join(dir, 'seekers.csv');
  await writeFile(csv, 'job_seeker_number,name,name_kana,birth_date,office_number,email,email_registered_on\n'
    + '60049-58004503,釧路 太郎,クシロ タロウ,1990-04-15,01010,,\n'
    + '60049-58004504,根室 花子,ネムロ ハナコ,1985-01-02,01010,,\n');
  await cli('seekers', 'import', csv);
  const code = async (number) => JSON.parse((await cli('code', 'issue', number, '--json')).stdout).code;
  const seekers = [
    { number: '60049-58004503', birth: { year: '1990', month: '4', day: '15' }, code: await code('60049-58004503') },
    { number: '60049-58004504', birth: { year: '1985', month: '1', day: '2' }, code: await code('60049-58004504') },
  ];
  const child = spawn(MYPAGE_BIN, ['serve', '--bind', `127.0.0.1:${port}`], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => { stderr += d; });
  await eventually(async () => (await fetch(`${url}/healthz`)).status === 200, 30_000).catch((e) => {
    throw new Error(`mypage serve did not start: ${e.message}\n${stderr}`);
  });
  return {
    url,
    seekers,
    async stop() {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await gone;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

before(async () => {
  smtp = new HeldSmtp();
  service = await startService(await smtp.start());
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await service?.stop();
  smtp?.close();
});

/** From the top page to 「パスワード登録」 for `seeker` with `email`. */
async function applyAs(page, seeker, email) {
  await page.goto(service.url);
  await page.getByRole('link', { name: TEXT.topLink }).click();
  await acceptConsent(page);
  await h1(page, TEXT.applyTitle).waitFor();
  await fillApply(page, { email, ...seeker });
  await page.getByRole('button', { name: TEXT.next }).click();
  await h1(page, TEXT.passwordTitle).waitFor();
}

test('with JavaScript the waiting screen moves from waiting to handed over by itself', { timeout: 90_000 }, async (t) => {
  const context = await browser.newContext({ ...PHONE });
  t.after(() => context.close());
  const problems = await guardContext(context);
  const page = await context.newPage();
  smtp.hold();
  await applyAs(page, service.seekers[0], 'taro.@docomo.ne.jp');
  const status = page.locator('#mail-status');
  assert.equal(await status.getAttribute('data-state'), 'waiting');
  assert.match(await status.innerText(), new RegExp(WAITING));
  assert.match(await page.locator('#mail-guidance').innerText(), /My docomo の「迷惑メール対策」にある「受信リスト設定」に「mypage\.example\.jp」/);
  await page.screenshot({ path: path.join(await screenshotDir(), 'mail-status-phone-waiting.png'), fullPage: true });
  // The same document all along: the script changes the line, the page is not reloaded.
  await page.evaluate(() => { window.sameDocument = true; });
  await eventually(() => smtp.waiting.length === 1, 15_000);
  smtp.release();
  await page.locator('#mail-status[data-state="handed"]').waitFor({ timeout: 20_000 });
  assert.match(await status.innerText(), HANDED);
  assert.equal(await page.evaluate(() => window.sameDocument), true);
  assert.equal(smtp.received.length, 1);
  assert.match(smtp.received[0], /^To: "taro\."@docomo\.ne\.jp$/m);
  await page.screenshot({ path: path.join(await screenshotDir(), 'mail-status-phone-handed.png'), fullPage: true });
  assert.deepEqual(problems, []);
});

test('without JavaScript the page states the mail as of its load and the reload link shows the change', { timeout: 90_000 }, async (t) => {
  const context = await browser.newContext({ ...PHONE, javaScriptEnabled: false });
  t.after(() => context.close());
  const problems = await guardContext(context);
  const page = await context.newPage();
  smtp.hold();
  const before = smtp.received.length;
  await applyAs(page, service.seekers[1], 'hanako@ezweb.ne.jp');
  const status = page.locator('#mail-status');
  assert.equal(await status.getAttribute('data-state'), 'waiting');
  assert.match(await page.locator('#mail-guidance').innerText(), /My au/);
  await eventually(() => smtp.waiting.length === 1, 15_000);
  smtp.release();
  await eventually(() => smtp.received.length === before + 1, 15_000);
  // Nothing changes by itself without the script.
  await sleep(2000);
  assert.equal(await status.getAttribute('data-state'), 'waiting');
  // The worker marks the mail right after the server's answer; the reload link asks again.
  await eventually(async () => {
    await page.getByRole('link', { name: RELOAD }).click();
    await h1(page, TEXT.passwordTitle).waitFor();
    return (await status.getAttribute('data-state')) === 'handed';
  }, 10_000);
  assert.match(await status.innerText(), HANDED);
  await page.screenshot({ path: path.join(await screenshotDir(), 'mail-status-phone-nojs.png'), fullPage: true });
  assert.deepEqual(problems, []);
});
