// Shared helpers for the browser end-to-end tests: a demo server per test file, a headless
// Chromium, and reading the mails (auth keys) the demo server writes as .eml files.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const MYPAGE_BIN = process.env.E2E_MYPAGE_BIN || path.join(repoRoot, 'target', 'debug', 'mypage');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

/** A password the demo seeker may register: digit, letter, symbol; no birth date or number. */
export const GOOD_PASSWORD = 'Kushiro#2026x';

/** Phone: 360×740 CSS px, touch, 2× pixels. */
export const PHONE = {
  viewport: { width: 360, height: 740 },
  isMobile: true,
  hasTouch: true,
  deviceScaleFactor: 2,
  locale: 'ja-JP',
};

/** Desktop: 1280×800. */
export const DESKTOP = {
  viewport: { width: 1280, height: 800 },
  locale: 'ja-JP',
};

// Servers started by this process, killed on exit even if a test or hook blew up.
const running = new Set();
function killAll() {
  for (const child of running) {
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
  }
}
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    killAll();
    process.exit(130);
  });
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function field(stdout, label) {
  const re = new RegExp(`^\\s*${label}:\\s*(.+?)\\s*$`, 'm');
  const m = stdout.match(re);
  return m ? m[1] : undefined;
}

async function startOnce(dataDir, port) {
  const child = spawn(MYPAGE_BIN, ['demo', '--bind', `127.0.0.1:${port}`], {
    env: { ...process.env, MYPAGE_DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let stdout = '';
  let stderr = '';
  let exited = null;
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  child.on('error', (err) => { exited = { err }; });
  child.on('exit', (code, signal) => { exited = { code, signal }; running.delete(child); });

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) {
      const why = exited.err ? exited.err.message : `exit code ${exited.code}, signal ${exited.signal}`;
      const err = new Error(`demo server ${MYPAGE_BIN} ended before it was ready (${why})\n--- stdout\n${stdout}\n--- stderr\n${stderr}`);
      err.retryable = !exited.err;
      throw err;
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`demo server did not answer /healthz within 30 s\n--- stdout\n${stdout}\n--- stderr\n${stderr}`);
    }
    if (field(stdout, 'mail \\(auth keys\\) in')) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        if (res.status === 200) break;
      } catch { /* not yet listening */ }
    }
    await sleep(100);
  }
  return { child, stdout, stderr: () => stderr };
}

function parseBirth(value) {
  const m = value?.match(/^(\d{4})-(\d{2})-(\d{2})/);
  return m ? { year: m[1], month: String(Number(m[2])), day: String(Number(m[3])) } : undefined;
}

/**
 * The second demo job seeker: email registered at the counter before the cutoff (SPEC §3.9), no
 * account, no code. Printed after the line 「Registered before the cutoff…」; undefined if absent.
 */
function legacySeeker(stdout) {
  const at = stdout.search(/^Registered before the cutoff/m);
  if (at < 0) return undefined;
  const block = stdout.slice(at);
  const seeker = {
    email: field(block, 'メールアドレス'),
    jobSeekerNumber: field(block, '求職番号'),
    birth: parseBirth(field(block, '生年月日')),
  };
  return Object.values(seeker).every((v) => v !== undefined) ? seeker : undefined;
}

/**
 * Starts `mypage demo` with a fresh data dir on a free port and waits for /healthz.
 * Returns what the demo printed (url, number, birth date, code, mail dir) and stop().
 */
export async function startDemo() {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'mypage-e2e-'));
  let started;
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      started = await startOnce(dataDir, port);
      break;
    } catch (err) {
      // Another process may have taken the port between freePort() and bind: try another one.
      if (!err.retryable || attempt >= 3) {
        await rm(dataDir, { recursive: true, force: true });
        throw err;
      }
    }
  }
  const { child, stdout } = started;
  const birth = parseBirth(field(stdout, '生年月日'));
  const demo = {
    url: field(stdout, 'URL'),
    jobSeekerNumber: field(stdout, '求職番号'),
    birth,
    code: field(stdout, 'アカウント作成コード'),
    mailDir: field(stdout, 'mail \\(auth keys\\) in'),
    legacy: legacySeeker(stdout),
    dataDir,
    stdout,
    stderr: started.stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await gone;
        clearTimeout(timer);
      }
      running.delete(child);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  for (const [k, v] of Object.entries(demo)) {
    // `legacy` is optional: tests that need it check for it themselves.
    if (v === undefined && k !== 'legacy') {
      await demo.stop();
      throw new Error(`could not read "${k}" from the demo output:\n${stdout}`);
    }
  }
  return demo;
}

/** Headless Chromium; `extraArgs` are added to the command line (e.g. --host-resolver-rules). */
export async function launchBrowser({ extraArgs = [] } = {}) {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      ...extraArgs,
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * Fails the test on any request that leaves 127.0.0.1/localhost, and aborts it.
 * Also collects page errors and console errors, to be asserted empty by the caller.
 */
export async function guardContext(context) {
  const problems = [];
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.protocol === 'data:' || url.hostname === 'localhost' || url.hostname === '127.0.0.1') {
      return route.continue();
    }
    problems.push(`request to a non-local host: ${url.href}`);
    return route.abort();
  });
  context.on('page', (page) => watchPage(page, problems));
  for (const page of context.pages()) watchPage(page, problems);
  return problems;
}

function watchPage(page, problems) {
  page.on('pageerror', (err) => problems.push(`page error on ${page.url()}: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    // Form errors come back as 422 with the page: that is the document itself, not a broken resource.
    if (msg.text().startsWith('Failed to load resource') && msg.location().url === page.url()) return;
    problems.push(`console error on ${page.url()}: ${msg.text()} (${msg.location().url})`);
  });
}

// ---------------------------------------------------------------------------------------------
// Mail

async function emlFiles(mailDir) {
  try {
    return (await readdir(mailDir)).filter((f) => f.endsWith('.eml')).sort();
  } catch (err) {
    if (err.code === 'ENOENT') return [];
    throw err;
  }
}

/** Number of mails written so far; pass it to waitForMail() to wait for the next one. */
export async function mailCount(mailDir) {
  return (await emlFiles(mailDir)).length;
}

/** Waits (up to `timeoutMs`) for mail number `index` (0-based, by file name order) and parses it. */
export async function waitForMail(mailDir, index, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  let lastRaw;
  for (;;) {
    const files = await emlFiles(mailDir);
    if (files.length > index) {
      const file = path.join(mailDir, files[index]);
      // The file transport writes in place (no rename), so wait until two reads agree.
      const raw = await readFile(file, 'latin1');
      if (raw.length > 0 && raw === lastRaw) return { file, ...parseEml(raw) };
      lastRaw = raw;
    }
    if (Date.now() > deadline) {
      throw new Error(`no mail #${index + 1} in ${mailDir} within ${timeoutMs} ms (found: ${files.join(', ') || 'none'})`);
    }
    await sleep(200);
  }
}

/** The 6 digits alone on their line after the line 「<label>:」 (e.g. 認証キー, ワンタイムパスワード). */
export function digitsAfter(mail, label) {
  const lines = mail.body.split(/\r?\n/).map((l) => l.trim());
  const at = lines.findIndex((l) => l === `${label}:` || l === `${label}：`);
  if (at < 0) throw new Error(`no 「${label}:」 line in the mail:\n${mail.body}`);
  const digits = lines.slice(at + 1).find((l) => l !== '');
  if (!/^\d{6}$/.test(digits ?? '')) throw new Error(`no 6 digits after 「${label}:」 (got ${JSON.stringify(digits)}):\n${mail.body}`);
  return digits;
}

/** The 6-digit auth key, alone on its line after the line 「認証キー:」. */
export function authKeyFrom(mail) {
  return digitsAfter(mail, '認証キー');
}

/** The names of the mails written so far; pass it to waitForNewMail() / newMails(). */
export async function mailSnapshot(mailDir) {
  return new Set(await emlFiles(mailDir));
}

/**
 * The mails written since `seen` (a mailSnapshot()), parsed, oldest first, optionally only those
 * whose decoded subject equals `subject` and whose To contains `to`. Unlike mailCount()/waitForMail()
 * this does not depend on the order in which the outbox delivers older mails.
 */
export async function newMails(mailDir, seen, { subject, to } = {}) {
  const found = [];
  for (const name of await emlFiles(mailDir)) {
    if (seen.has(name)) continue;
    const file = path.join(mailDir, name);
    const raw = await readFile(file, 'latin1');
    if (raw.length === 0) continue;
    const mail = { file, ...parseEml(raw) };
    if (subject !== undefined && mail.subject !== subject) continue;
    if (to !== undefined && !mail.to.includes(to)) continue;
    found.push(mail);
  }
  return found;
}

/** Waits (up to `timeoutMs`) for the first mail since `seen` that matches (see newMails()). */
export async function waitForNewMail(mailDir, seen, filter = {}, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    const mails = await newMails(mailDir, seen, filter);
    if (mails.length > 0) {
      // The file transport writes in place (no rename), so wait until two reads agree.
      const raw = await readFile(mails[0].file, 'latin1');
      if (raw === last) return mails[0];
      last = raw;
    } else if (Date.now() > deadline) {
      const files = [...(await emlFiles(mailDir))].filter((f) => !seen.has(f));
      throw new Error(`no new mail ${JSON.stringify(filter)} in ${mailDir} within ${timeoutMs} ms (new files: ${files.join(', ') || 'none'})`);
    }
    await sleep(200);
  }
}

function splitHeaders(raw) {
  const sep = raw.search(/\r?\n\r?\n/);
  const head = sep < 0 ? raw : raw.slice(0, sep);
  const body = sep < 0 ? '' : raw.slice(sep).replace(/^\r?\n\r?\n/, '');
  const headers = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const m = line.match(/^([^:]+):\s*(.*)$/);
    if (m) headers[m[1].toLowerCase()] = m[2];
  }
  return { headers, body };
}

function decodeWords(value) {
  // RFC 2047: =?charset?B|Q?text?= ; whitespace between adjacent encoded words is dropped.
  return value
    .replace(/(\?=)\s+(=\?)/g, '$1$2')
    .replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_, charset, enc, text) => {
      const bytes = enc.toUpperCase() === 'B'
        ? Buffer.from(text, 'base64')
        : Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (__, h) => String.fromCharCode(parseInt(h, 16))), 'latin1');
      return new TextDecoder(charset).decode(bytes);
    });
}

function decodeBody(headers, body) {
  const cte = (headers['content-transfer-encoding'] || '7bit').toLowerCase();
  let bytes;
  if (cte === 'base64') bytes = Buffer.from(body.replace(/\s+/g, ''), 'base64');
  else if (cte === 'quoted-printable') {
    bytes = Buffer.from(body.replace(/=\r?\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16))), 'latin1');
  } else bytes = Buffer.from(body, 'latin1');
  const charset = (headers['content-type'] || '').match(/charset="?([^";\s]+)"?/i)?.[1] || 'utf-8';
  return new TextDecoder(charset).decode(bytes);
}

/** Minimal .eml reader: decoded Subject/To/From and the text/plain body (also inside multipart). */
export function parseEml(raw) {
  const { headers, body } = splitHeaders(raw);
  let text;
  const boundary = (headers['content-type'] || '').match(/boundary="?([^";]+)"?/i)?.[1];
  if (boundary) {
    const parts = body.split(`--${boundary}`).slice(1).filter((p) => !p.startsWith('--'));
    const plain = parts
      .map((p) => splitHeaders(p.replace(/^\r?\n/, '')))
      .find((p) => /^text\/plain/i.test(p.headers['content-type'] || 'text/plain'));
    if (!plain) throw new Error('multipart mail without a text/plain part');
    text = decodeBody(plain.headers, plain.body);
  } else {
    text = decodeBody(headers, body);
  }
  return {
    subject: decodeWords(headers.subject || ''),
    to: decodeWords(headers.to || ''),
    from: decodeWords(headers.from || ''),
    body: text,
  };
}

// ---------------------------------------------------------------------------------------------
// Pages

/** Fails unless the page fits the window width (no horizontal scrolling); names what sticks out. */
export async function horizontalOverflow(page) {
  return page.evaluate(() => {
    const width = window.innerWidth;
    const scrollWidth = document.documentElement.scrollWidth;
    const offenders = [];
    if (scrollWidth > width) {
      for (const el of document.querySelectorAll('body *')) {
        const r = el.getBoundingClientRect();
        // An element that sticks out, or one whose own content (e.g. an unbreakable text) does.
        const spills = el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX === 'visible';
        if (r.width > 0 && (r.right > width + 0.5 || (spills && r.left + el.scrollWidth > width + 0.5))) {
          const id = el.id ? `#${el.id}` : '';
          const cls = el.classList.length ? `.${[...el.classList].join('.')}` : '';
          const text = el.children.length === 0 ? ` "${el.textContent.trim().slice(0, 40)}"` : '';
          offenders.push(`${el.tagName.toLowerCase()}${id}${cls}${text} right=${Math.round(Math.max(r.right, r.left + el.scrollWidth))}`);
          if (offenders.length >= 8) break;
        }
      }
    }
    return { width, scrollWidth, offenders };
  });
}

export async function screenshotDir() {
  const dir = process.env.E2E_SCREENSHOT_DIR || path.join(tmpdir(), 'mypage-e2e-screenshots');
  await mkdir(dir, { recursive: true });
  return dir;
}

/** Polls `check` (which throws or returns false) until it passes or `timeoutMs` runs out. */
export async function eventually(check, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let error;
    try {
      const ok = await check();
      if (ok !== false) return ok;
    } catch (err) {
      error = err;
    }
    if (Date.now() > deadline) throw error ?? new Error(`condition not met within ${timeoutMs} ms: ${check}`);
    await sleep(50);
  }
}
