import type { Browser, BrowserContext, Page, Request, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { readLedger } from '../bank/fixtures.js';
import { balances, notice, signIn } from './helpers/bank-page.js';
import { launchChromium, screenshot } from './helpers/chromium.js';
import { buildWebApp, startDemo, type RunningDemo } from './helpers/demo.js';

const ACCOUNTS = '**/api/accounts';
const TRANSFERS = '**/api/transfers';
const SIGNATURE_HEADERS = [
  'signature',
  'signature-input',
  'content-digest',
  'content-type',
  'idempotency-key',
];

let web: { dir: string; remove: () => void };
let demo: RunningDemo;
let browser: Browser;
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
  web = await buildWebApp();
  demo = await startDemo(web.dir);
  browser = await launchChromium();
  context = await browser.newContext();
  page = await context.newPage();
  await signIn(page, demo.url, 'alice');
  await balances(page);
});

afterAll(async () => {
  await browser?.close();
  await demo?.stop();
  web?.remove();
});

/** Opens the accounts page afresh, so its first call is GET /api/accounts. */
async function openAccounts(): Promise<void> {
  await page.goto(`${demo.url}/#/accounts`);
  await page.reload();
}

/** Fills the transfer form and stops at the confirmation step. */
async function reviewTransfer(amount: string): Promise<void> {
  await page.getByRole('link', { name: 'Transfer' }).click();
  await page.getByLabel('To account').fill('acc-bob-checking');
  await page.getByLabel('Amount (EUR)').fill(amount);
  await page.getByRole('button', { name: 'Review transfer' }).click();
  await page.getByRole('button', { name: 'Confirm transfer' }).waitFor();
}

/** Presses Confirm and returns the gateway's response to the POST, as it came off the wire. */
async function confirmTransfer(): Promise<{ status: number; code: string | undefined }> {
  const pending = page.waitForResponse(
    (response) =>
      response.url().endsWith('/api/transfers') && response.request().method() === 'POST',
  );
  await page.getByRole('button', { name: 'Confirm transfer' }).click();
  const response = await pending;
  const body = (await response.json().catch(() => ({}))) as { code?: string };
  return { status: response.status(), code: body.code };
}

function aliceChecking(): number | undefined {
  return readLedger(demo.dataDir).balances['acc-alice-checking'];
}

describe('tampering seen from the page', { timeout: 60_000 }, () => {
  it('rejects a response body changed in transit', async () => {
    await page.route(ACCOUNTS, async (route) => {
      const response = await route.fetch();
      const body = (await response.text()).replace('1000.00', '9000.00');
      await route.fulfill({ response, body });
    });
    try {
      await openAccounts();

      const displayed = await notice(page);
      expect(displayed).toMatchObject({ kind: 'unverified', code: 'response_signature_invalid' });
      expect(displayed.text).toContain('could not be verified');
      expect(await page.locator('[data-balance]').count()).toBe(0);
      expect(await page.getByText('9,000.00').count()).toBe(0);
      await screenshot(page, 'tampered-response');
    } finally {
      await page.unroute(ACCOUNTS);
    }
  });

  it('rejects a signed response replayed for another request', async () => {
    let recorded: { status: number; headers: Record<string, string>; body: Buffer } | undefined;
    await page.route(ACCOUNTS, async (route) => {
      if (recorded === undefined) {
        const response = await route.fetch();
        recorded = {
          status: response.status(),
          headers: response.headers(),
          body: await response.body(),
        };
        await route.fulfill({ response });
        return;
      }
      await route.fulfill(recorded);
    });
    try {
      await openAccounts();
      await balances(page);

      await openAccounts();

      expect(await notice(page)).toMatchObject({
        kind: 'unverified',
        code: 'response_signature_invalid',
      });
      expect(await page.locator('[data-balance]').count()).toBe(0);
    } finally {
      await page.unroute(ACCOUNTS);
    }
  });

  it('rejects an unsigned success', async () => {
    await page.route(ACCOUNTS, async (route) => {
      const response = await route.fetch();
      const headers = response.headers();
      delete headers['signature'];
      delete headers['signature-input'];
      await route.fulfill({ response, headers });
    });
    try {
      await openAccounts();

      expect(await notice(page)).toMatchObject({
        kind: 'unverified',
        code: 'response_signature_invalid',
      });
      expect(await page.locator('[data-balance]').count()).toBe(0);
    } finally {
      await page.unroute(ACCOUNTS);
    }
  });

  it('shows digest_mismatch for a changed body', async () => {
    const before = aliceChecking();
    await page.route(TRANSFERS, async (route) => {
      const body = route.request().postData() ?? '';
      await route.continue({ postData: body.replace('"1.00"', '"900.00"') });
    });
    try {
      await reviewTransfer('1.00');
      const rejection = await confirmTransfer();

      expect(rejection).toEqual({ status: 400, code: 'digest_mismatch' });
      const displayed = await notice(page);
      expect(displayed).toMatchObject({ kind: 'rejected', code: 'digest_mismatch' });
      expect(displayed.text).toContain('The bank rejected the request.');
      expect(aliceChecking()).toBe(before);
      await screenshot(page, 'rejected-digest-mismatch');
    } finally {
      await page.unroute(TRANSFERS);
    }
  });

  it('shows signature_missing for an unsigned request', async () => {
    const before = aliceChecking();
    await page.route(TRANSFERS, async (route) => {
      const headers = route.request().headers();
      delete headers['signature'];
      delete headers['signature-input'];
      await route.continue({ headers });
    });
    try {
      await reviewTransfer('2.00');
      const rejection = await confirmTransfer();

      expect(rejection).toEqual({ status: 401, code: 'signature_missing' });
      expect(await notice(page)).toMatchObject({ kind: 'rejected', code: 'signature_missing' });
      expect(aliceChecking()).toBe(before);
    } finally {
      await page.unroute(TRANSFERS);
    }
  });

  it('moves money once for a replay', async () => {
    const before = aliceChecking() ?? 0;
    let first: { headers: Record<string, string>; body: Buffer | null } | undefined;
    await page.route(TRANSFERS, async (route: Route, request: Request) => {
      if (first === undefined) {
        first = { headers: request.headers(), body: request.postDataBuffer() };
        await route.continue();
        return;
      }
      // Sends the first request's signed parts again in place of the new ones.
      const headers = request.headers();
      for (const name of SIGNATURE_HEADERS) {
        const value = first.headers[name];
        if (value !== undefined) headers[name] = value;
      }
      await route.continue({ headers, ...(first.body ? { postData: first.body } : {}) });
    });
    try {
      await reviewTransfer('3.00');
      expect(await confirmTransfer()).toEqual({ status: 201, code: undefined });
      expect((await notice(page)).kind).toBe('success');

      await reviewTransfer('3.00');
      const replay = await confirmTransfer();

      expect(replay).toEqual({ status: 401, code: 'nonce_replayed' });
      const displayed = await notice(page);
      expect(displayed).toMatchObject({ kind: 'rejected', code: 'nonce_replayed' });
      expect(displayed.text).toContain('repeated copy of an earlier request');
      await screenshot(page, 'rejected-replay');
      expect(aliceChecking()).toBe(before - 300);
    } finally {
      await page.unroute(TRANSFERS);
    }
  });

  it('moves money once when retried after network error', async () => {
    const before = aliceChecking() ?? 0;
    const keys: string[] = [];
    await page.route(TRANSFERS, async (route, request) => {
      keys.push(request.headers()['idempotency-key'] ?? '');
      if (keys.length === 1) {
        // The bank posts the transfer, but its response never reaches the page.
        await route.fetch();
        await route.abort('connectionreset');
        return;
      }
      await route.continue();
    });
    try {
      await reviewTransfer('4.00');
      await page.getByRole('button', { name: 'Confirm transfer' }).click();

      const lost = await notice(page);
      expect(lost.kind).toBe('network-error');
      expect(lost.text).toContain('the transfer may or may not have been sent');
      expect(aliceChecking()).toBe(before - 400);
      await screenshot(page, 'network-error');

      const retry = await confirmTransfer();

      expect(retry.status).toBe(201);
      expect((await notice(page)).kind).toBe('success');
      expect(keys).toHaveLength(2);
      expect(keys[1]).toBe(keys[0]);
      expect(aliceChecking()).toBe(before - 400);
    } finally {
      await page.unroute(TRANSFERS);
    }
  });

  it('corrects a skewed page clock', async () => {
    const skewed = await browser.newContext();
    const statuses: Array<{ path: string; status: number; code?: string }> = [];
    skewed.on('response', async (response) => {
      const url = new URL(response.url());
      if (!url.pathname.startsWith('/api/')) return;
      const body = (await response.json().catch(() => ({}))) as { code?: string };
      statuses.push({ path: url.pathname, status: response.status(), code: body.code });
    });
    try {
      const skewedPage = await skewed.newPage();
      await skewedPage.clock.install({ time: Date.now() + 10 * 60 * 1000 });
      await signIn(skewedPage, demo.url, 'bob');

      expect(Object.keys(await balances(skewedPage))).toEqual(['acc-bob-checking']);
      expect(statuses[0]).toEqual({ path: '/api/accounts', status: 401, code: 'clock_skew' });
      expect(statuses[1]).toMatchObject({ path: '/api/accounts', status: 200 });
      expect(statuses.filter((entry) => entry.code === 'clock_skew')).toHaveLength(1);
    } finally {
      await skewed.close();
    }
  });
});
