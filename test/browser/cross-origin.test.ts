import { createServer, type Server } from 'node:http';
import { join } from 'node:path';

import Database from 'better-sqlite3';

import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DEMO_PASSWORDS } from '../../examples/bank/demo-users.js';
import { RampartClient } from '../../src/client/rampart-client.js';
import { readLedger } from '../bank/fixtures.js';
import { balances, signIn } from './helpers/bank-page.js';
import { launchChromium, screenshot } from './helpers/chromium.js';
import { buildWebApp, startDemo, type RunningDemo } from './helpers/demo.js';

let web: { dir: string; remove: () => void };
let demo: RunningDemo;
let attacker: Server;
let attackerPort: number;
let browser: Browser;
let context: BrowserContext;
let page: Page;

const THEFT = {
  fromAccount: 'acc-alice-checking',
  toAccount: 'acc-bob-checking',
  amount: '500.00',
};

/**
 * Returns the attacker's page, which frames the bank, posts a form to the transfer endpoint, sends a simple
 * and a preflighted fetch with credentials, and loads the transfer endpoint as an image.
 */
function attackPage(gateway: string): string {
  const body = JSON.stringify(THEFT);
  return `<!doctype html>
<html><head><title>Win a prize</title></head><body>
<h1>Congratulations!</h1>
<iframe src="${gateway}/" title="bank"></iframe>
<img src="${gateway}/api/transfers?fromAccount=acc-alice-checking&amp;toAccount=acc-bob-checking&amount=500.00" alt="">
<form id="steal" method="post" action="${gateway}/api/transfers" enctype="text/plain">
  <input type="hidden" name='${body.slice(0, -1)}, "pad": "' value='"}'>
</form>
<script>
  const gateway = ${JSON.stringify(gateway)};
  const body = ${JSON.stringify(body)};
  Promise.allSettled([
    fetch(gateway + '/api/transfers', { method: 'POST', mode: 'no-cors', credentials: 'include',
      headers: { 'content-type': 'text/plain' }, body }),
    fetch(gateway + '/api/transfers', { method: 'POST', credentials: 'include',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'attack-1' }, body }),
  ]).then(() => { document.title = 'fetched'; setTimeout(() => document.getElementById('steal').submit(), 1000); });
</script>
</body></html>`;
}

beforeAll(async () => {
  web = await buildWebApp();
  demo = await startDemo(web.dir);
  attacker = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(attackPage(demo.url));
  });
  await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
  attackerPort = (attacker.address() as { port: number }).port;

  browser = await launchChromium();
  context = await browser.newContext();
  page = await context.newPage();
  await signIn(page, demo.url, 'alice');
  await balances(page);
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => attacker?.close(resolve));
  await demo?.stop();
  web?.remove();
});

/** A request of the attack page that reached the gateway, as the audit trail recorded it. */
interface AuditedCall {
  method: string;
  path: string;
  outcome: string;
  code: string | null;
}

/** Reads the audit entries after `afterSeq` through a read-only connection. */
function auditedCalls(afterSeq: number): { calls: AuditedCall[]; lastSeq: number } {
  const db = new Database(join(demo.dataDir, 'audit.sqlite'), { readonly: true });
  try {
    const rows = db
      .prepare(
        'SELECT seq, method, path, outcome, code FROM audit_entries WHERE seq > ? ORDER BY seq',
      )
      .all(afterSeq) as Array<AuditedCall & { seq: number }>;
    const lastSeq = rows.at(-1)?.seq ?? afterSeq;
    return { calls: rows.map(({ seq: _seq, ...call }) => call), lastSeq };
  } finally {
    db.close();
  }
}

/**
 * Opens the attack page from `origin` in alice's browser. Returns whether any request to the
 * gateway carried her session cookie, and the page's console messages.
 */
async function runAttack(origin: string): Promise<{ cookieSent: boolean[]; messages: string[] }> {
  const attackPage = await context.newPage();
  const messages: string[] = [];
  const cookies: Array<Promise<boolean>> = [];
  attackPage.on('console', (message) => messages.push(message.text()));
  attackPage.on('request', (request) => {
    const url = new URL(request.url());
    if (url.origin !== demo.url || !url.pathname.startsWith('/api/')) return;
    cookies.push(
      request.allHeaders().then((headers) => (headers.cookie ?? '').includes('__Host-rampart')),
    );
  });

  const name = `attack-from-${new URL(origin).hostname}`;
  await attackPage.goto(`${origin}/attack.html`);
  await attackPage.waitForFunction(() => document.title === 'fetched');
  await screenshot(attackPage, name);
  await attackPage.waitForURL(`${demo.url}/api/transfers`);
  await attackPage.waitForLoadState('load');
  await screenshot(attackPage, `${name}-form-result`);
  await attackPage.close();
  return { cookieSent: await Promise.all(cookies), messages };
}

async function balancesSeenByAlice(): Promise<Record<string, string>> {
  const alice = new RampartClient({ baseUrl: demo.url });
  await alice.login('alice', DEMO_PASSWORDS.alice as string);
  const response = await alice.fetch('/api/accounts');
  const body = (await response.json()) as { accounts: Array<{ id: string; balance: string }> };
  await alice.logout();
  return Object.fromEntries(body.accounts.map((account) => [account.id, account.balance]));
}

describe('requests from another origin', { timeout: 60_000 }, () => {
  for (const host of ['localhost', '127.0.0.1']) {
    it(`moves no money for a page on http://${host}:<other port>`, async () => {
      const ledgerBefore = readLedger(demo.dataDir);
      const { lastSeq } = auditedCalls(0);

      const { cookieSent, messages } = await runAttack(`http://${host}:${attackerPort}`);

      const calls = auditedCalls(lastSeq).calls.filter((call) => call.path.startsWith('/api/'));
      expect(calls.map((call) => `${call.method} ${call.path}`).sort()).toEqual([
        'GET /api/transfers',
        'OPTIONS /api/transfers',
        'POST /api/transfers',
        'POST /api/transfers',
      ]);
      for (const call of calls) {
        expect(call.outcome, `${call.method} ${call.code}`).toBe('rejected');
        expect(['signature_missing', 'route_not_found']).toContain(call.code);
      }
      // A SameSite=Strict cookie stays within the site. Another loopback port is the same site,
      // so that page may send the cookie, and the gateway still needs a signature it cannot make.
      expect(cookieSent.length).toBeGreaterThanOrEqual(3);
      if (host === 'localhost') expect(cookieSent.some(Boolean)).toBe(false);
      expect(messages.some((text) => text.includes("frame-ancestors 'none'"))).toBe(true);

      const ledgerAfter = readLedger(demo.dataDir);
      expect(ledgerAfter.transfers).toBe(ledgerBefore.transfers);
      expect(ledgerAfter.balances).toEqual(ledgerBefore.balances);
    });
  }

  it('leaves alice’s balances unchanged', async () => {
    expect(await balancesSeenByAlice()).toEqual({
      'acc-alice-checking': '1000.00',
      'acc-alice-savings': '5000.00',
    });
  });
});
