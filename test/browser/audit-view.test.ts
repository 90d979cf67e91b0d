import { join } from 'node:path';

import Database from 'better-sqlite3';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DEMO_PASSWORDS } from '../../examples/bank/demo-users.js';
import { RampartClient } from '../../src/client/rampart-client.js';
import { recordRequests, signIn, type RecordedRequest } from './helpers/bank-page.js';
import { launchChromium, screenshot } from './helpers/chromium.js';
import { buildWebApp, startDemo, type RunningDemo } from './helpers/demo.js';

let web: { dir: string; remove: () => void };
let demo: RunningDemo;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let requests: RecordedRequest[];
let transferRequestId: string | undefined;

beforeAll(async () => {
  web = await buildWebApp();
  demo = await startDemo(web.dir);

  const alice = new RampartClient({ baseUrl: demo.url });
  await alice.login('alice', DEMO_PASSWORDS.alice as string);
  const transfer = await alice.fetch('/api/transfers', {
    method: 'POST',
    body: { fromAccount: 'acc-alice-checking', toAccount: 'acc-bob-checking', amount: '12.34' },
  });
  expect(transfer.status).toBe(201);
  transferRequestId = transfer.headers.get('rampart-request-id') ?? undefined;
  expect(transferRequestId).toMatch(/^[0-9a-f-]{36}$/);
  // One rejected call, so the chart has both kinds.
  const replay = alice.sign('/api/accounts');
  await fetch(replay.url, replay.init);
  await fetch(replay.url, replay.init);
  await alice.logout();

  browser = await launchChromium();
  context = await browser.newContext();
  requests = recordRequests(context, demo.url);
  page = await context.newPage();
});

afterAll(async () => {
  await browser?.close();
  await demo?.stop();
  web?.remove();
});

describe('auditor view', { timeout: 60_000 }, () => {
  it('shows the auditor the transfer', async () => {
    await signIn(page, demo.url, 'aude');
    await page.getByRole('link', { name: 'Audit' }).click();

    const status = page.locator('[data-chain]');
    await status.waitFor();
    expect(await status.getAttribute('data-chain')).toBe('verified');
    expect(await status.innerText()).toMatch(/^Verified: \d+ entries match their hash chain/);

    // The gateway records a transfer once before forwarding it and once with the service's response.
    const transfer = page.locator(`tr[data-request-id="${transferRequestId}"]`);
    expect(await transfer.count()).toBe(2);
    expect(await transfer.first().getAttribute('data-outcome')).toBe('allowed');
    expect(await transfer.first().innerText()).toContain('u-alice');
    expect(await transfer.first().innerText()).toContain('POST /api/transfers → 201');
    const replayed = page.locator('tr[data-outcome="rejected"]', {
      has: page.getByText('nonce_replayed'),
    });
    expect(await replayed.count()).toBe(1);

    const chart = page.getByRole('img', { name: /allowed and \d+ rejected calls/ });
    expect(await chart.count()).toBe(1);
    expect(await chart.locator('rect.bar.allowed').count()).toBeGreaterThanOrEqual(1);
    expect(await chart.locator('rect.bar.rejected').count()).toBeGreaterThanOrEqual(1);
    await screenshot(page, 'audit');
  });

  it('signs the auditor’s calls', () => {
    const audit = requests.filter((request) => request.path.startsWith('/api/audit/'));

    expect(audit.map((request) => request.path.split('?')[0]).sort()).toEqual([
      '/api/audit/activity',
      '/api/audit/entries',
      '/api/audit/verify',
    ]);
    for (const request of audit) {
      expect(request.headers['signature-input']).toMatch(/^sig1=/);
      expect(request.headers['signature']).toMatch(/^sig1=:/);
    }
  });

  it('names the first changed entry', async () => {
    const db = new Database(join(demo.dataDir, 'audit.sqlite'));
    db.prepare("UPDATE audit_entries SET subject = 'u-mallory' WHERE seq = 2").run();
    db.close();

    await page.getByRole('link', { name: 'Audit' }).click();

    const status = page.locator('[data-chain]');
    await status.waitFor();
    expect(await status.getAttribute('data-chain')).toBe('broken');
    expect(await status.innerText()).toMatch(/^Broken at entry 2: /);
    await screenshot(page, 'audit-broken');
  });

  it('keeps a customer out of the audit view', async () => {
    const customer = await browser.newContext();
    const customerRequests = recordRequests(customer, demo.url);
    try {
      const customerPage = await customer.newPage();
      await signIn(customerPage, demo.url, 'bob');

      expect(await customerPage.getByRole('link', { name: 'Audit' }).count()).toBe(0);
      await customerPage.goto(`${demo.url}/#/audit`);
      const denied = customerPage.locator('[data-state="access-denied"]');
      await denied.waitFor();
      expect(await denied.innerText()).toContain('audit:read');
      expect(await customerPage.locator('[data-chain]').count()).toBe(0);
      await screenshot(customerPage, 'audit-denied');
      expect(customerRequests.some((request) => request.path.startsWith('/api/audit/'))).toBe(
        false,
      );
    } finally {
      await customer.close();
    }
  });

  it('rejects a customer’s audit call', async () => {
    const bob = new RampartClient({ baseUrl: demo.url });
    await bob.login('bob', DEMO_PASSWORDS.bob as string);

    const response = await bob.fetch('/api/audit/entries');

    expect(response.status).toBe(403);
    expect(((await response.json()) as { code?: string }).code).toBe('permission_denied');
    await bob.logout();
  });
});
