// Passkeys in headless Chromium: a DevTools virtual authenticator (CTAP2, internal transport,
// resident keys, user verification), a second `mypage serve` on the demo's database for
// ceremonies that begin on one process and finish on another, and the finishes a process saw.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MYPAGE_BIN } from './harness.mjs';

/** A virtual platform authenticator for `page`, as a phone's screen lock or a laptop's fingerprint reader would be. */
export async function virtualAuthenticator(context, page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { credentials: async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials };
}

/** How many POSTs to `route` the process at `url` has answered (its /metrics). */
export async function answered(url, route) {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text.split('\n')
    .filter((l) => l.startsWith(`mypage_http_requests_total{route="${route}",method="POST"`))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

/**
 * A second `mypage serve` on the demo's database and secret, behind the same public URL; stopped
 * when test `t` ends. Its URL, on `localhost`: cookies are per host, whatever the port.
 */
export async function secondNode(t, demo) {
  const port = await new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => { const { port: p } = srv.address(); srv.close(() => resolve(p)); });
  });
  const dir = await mkdtemp(path.join(tmpdir(), 'mypage-e2e-node2-'));
  const env = {
    ...process.env,
    MYPAGE_DATA_DIR: dir,
    MYPAGE_DATABASE_URL: `sqlite://${path.join(demo.dataDir, 'demo', 'mypage.db')}`,
    MYPAGE_SECRET: (await readFile(path.join(demo.dataDir, 'secret.key'), 'utf8')).trim(),
    MYPAGE_MAIL: `file:${demo.mailDir}`,
    MYPAGE_BASE_URL: demo.url,
  };
  const child = spawn(MYPAGE_BIN, ['serve', '--bind', `127.0.0.1:${port}`], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  t.after(async () => {
    child.kill('SIGTERM');
    await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)));
    await rm(dir, { recursive: true, force: true });
  });
  const url = `http://localhost:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/healthz`)).status === 200) break;
    } catch { /* not yet listening */ }
    if (i > 300) throw new Error(`the second node did not start:\n${stderr}`);
    await sleep(100);
  }
  return url;
}

/**
 * A load balancer's choice for `context`: requests to `pathname` go to `node` instead, as the
 * browser sent them (same origin, cookies and fetch metadata).
 */
export async function routeTo(context, pathname, node) {
  await context.route(`**${pathname}`, async (route) => {
    const headers = await route.request().allHeaders();
    const response = await route.fetch({ url: `${node}${pathname}`, headers });
    await route.fulfill({ response });
  });
}
