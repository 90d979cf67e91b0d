import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DEMO_PASSWORDS } from '../../examples/bank/demo-users.js';
import { readLedger } from '../bank/fixtures.js';
import {
  balances,
  notice,
  recordRequests,
  signIn,
  storedSession,
  type RecordedRequest,
} from './helpers/bank-page.js';
import { launchChromium, screenshot } from './helpers/chromium.js';
import { buildWebApp, startDemo, type RunningDemo } from './helpers/demo.js';

let web: { dir: string; remove: () => void };
let demo: RunningDemo;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let requests: RecordedRequest[];
const consoleErrors: string[] = [];
let loginSetCookie: string | undefined;

beforeAll(async () => {
  web = await buildWebApp();
  demo = await startDemo(web.dir);
  browser = await launchChromium();
  context = await browser.newContext();
  requests = recordRequests(context, demo.url);
  page = await context.newPage();
  // A CSP violation or an uncaught error shows up here.
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(error.message));
  page.on('response', async (response) => {
    if (new URL(response.url()).pathname === '/auth/login' && response.status() === 200) {
      loginSetCookie = (await response.headerValue('set-cookie')) ?? undefined;
    }
  });
});

afterAll(async () => {
  await browser?.close();
  await demo?.stop();
  web?.remove();
});

describe('demo bank web app in Chromium', { timeout: 60_000 }, () => {
  it('serves the page with security headers', async () => {
    const response = await fetch(`${demo.url}/`);
    const csp = response.headers.get('content-security-policy') ?? '';

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(response.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(response.headers.get('permissions-policy')).toContain('camera=()');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.text()).not.toMatch(/<script(?![^>]*\bsrc=)|<style|\sstyle=/);
  });

  it('caches only the hashed assets', async () => {
    const html = await (await fetch(`${demo.url}/`)).text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();

    const response = await fetch(`${demo.url}${script}`);

    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('shows the login page', async () => {
    await page.goto(`${demo.url}/`);

    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await expect(page.getByLabel('Username').isVisible()).resolves.toBe(true);
    await expect(page.getByLabel('Password').isVisible()).resolves.toBe(true);
    await screenshot(page, 'login');
  });

  it('signs in by keyboard and shows balances', async () => {
    await signIn(page, demo.url, 'alice');

    expect(await balances(page)).toEqual({
      'acc-alice-checking': '1000.00',
      'acc-alice-savings': '5000.00',
    });
    await page.getByRole('cell', { name: /opening balance/ }).waitFor();
    await screenshot(page, 'accounts');
  });

  it('sets a __Host- HttpOnly Secure SameSite=Strict cookie', async () => {
    const cookies = await context.cookies(demo.url);
    const session = cookies.find((cookie) => cookie.name === '__Host-rampart-session');

    expect(session).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict', path: '/' });
    expect(loginSetCookie).toMatch(/^__Host-rampart-session=/);
    expect(loginSetCookie).toMatch(/;\s*HttpOnly/i);
    expect(loginSetCookie).toMatch(/;\s*Secure/i);
    expect(loginSetCookie).toMatch(/;\s*SameSite=Strict/i);
    expect(loginSetCookie).toMatch(/;\s*Path=\//i);
    expect(loginSetCookie).not.toMatch(/;\s*Domain=/i);
    expect(await page.evaluate(() => document.cookie)).not.toContain('rampart');
  });

  it('stores a non-extractable key without the token', async () => {
    const stored = await storedSession(page);

    expect(stored.present).toBe(true);
    expect(stored.algorithm).toBe('HMAC');
    expect(stored.extractable).toBe(false);
    expect(stored.usages).toEqual(['sign', 'verify']);
    expect(stored.exportError).toBe('InvalidAccessError');
    expect(stored.fields).not.toContain('token');
  });

  it('keeps the session across a reload', async () => {
    await page.reload();
    await page.getByRole('heading', { name: 'Your accounts' }).waitFor();

    expect(await balances(page)).toEqual({
      'acc-alice-checking': '1000.00',
      'acc-alice-savings': '5000.00',
    });
    expect(await page.getByLabel('Password').count()).toBe(0);
  });

  it('transfers money after confirmation', async () => {
    await page.getByRole('link', { name: 'Transfer' }).click();
    await page.getByLabel('From account').selectOption('acc-alice-checking');
    await page.getByLabel('To account').fill('acc-bob-checking');
    await page.getByLabel('Amount (EUR)').fill('25.00');
    await page.getByLabel('Reference (optional)').fill('Concert tickets');
    await screenshot(page, 'transfer-form');
    await page.getByLabel('Reference (optional)').press('Enter');

    await page.getByRole('heading', { name: 'Confirm this transfer' }).waitFor();
    expect(readLedger(demo.dataDir).balances['acc-alice-checking']).toBe(100_000);
    await screenshot(page, 'transfer-confirm');
    await page.getByRole('button', { name: 'Confirm transfer' }).click();

    const result = await notice(page);
    expect(result.kind).toBe('success');
    expect(result.text).toMatch(/Transfer of €25\.00 sent\. Transfer ID: tr-/);
    await screenshot(page, 'transfer-done');
    expect(readLedger(demo.dataDir).balances['acc-alice-checking']).toBe(97_500);

    await page.getByRole('link', { name: 'Accounts' }).click();
    await page.getByRole('cell', { name: /Concert tickets/ }).waitFor();
    expect((await balances(page))['acc-alice-checking']).toBe('975.00');
  });

  it('shows bob the credit', async () => {
    const bobContext = await browser.newContext();
    const bobRequests = recordRequests(bobContext, demo.url);
    const bob = await bobContext.newPage();
    try {
      await signIn(bob, demo.url, 'bob');

      expect(await balances(bob)).toEqual({ 'acc-bob-checking': '775.00' });
      await bob.getByRole('cell', { name: /Concert tickets/ }).waitFor();
      expect(await bob.getByRole('cell', { name: /from Alice checking/ }).count()).toBe(1);
      await screenshot(bob, 'bob-accounts');
    } finally {
      await bobContext.close();
    }
    requests.push(...bobRequests);
  });

  it('signs every API call the page makes', () => {
    const calls = requests.filter(
      (request) => request.path.startsWith('/api/') || request.path.startsWith('/auth/'),
    );
    const signedCalls = calls.filter((request) => request.path !== '/auth/login');

    expect(signedCalls.length).toBeGreaterThanOrEqual(8);
    for (const request of signedCalls) {
      expect(request.headers['signature-input'], request.path).toMatch(/^sig1=\(.*tag="rampart"/);
      expect(request.headers['signature'], request.path).toMatch(/^sig1=:[A-Za-z0-9+/]+=*:$/);
      expect(request.headers['authorization'], request.path).toBeUndefined();
      if (request.method === 'POST') {
        expect(request.headers['content-digest'], request.path).toMatch(/^sha-256=:/);
        expect(request.headers['idempotency-key'], request.path).toBeDefined();
      }
    }
    expect(calls.filter((request) => request.path === '/auth/login')).toHaveLength(2);
  });

  it('logs out and forgets the key', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();

    const result = await notice(page);
    expect(result.kind).toBe('info');
    expect(result.text).toContain('You have signed out.');
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect((await storedSession(page)).present).toBe(false);
    const cookies = await context.cookies(demo.url);
    expect(cookies.find((cookie) => cookie.name === '__Host-rampart-session')).toBeUndefined();
    const logout = requests.filter((request) => request.path === '/auth/logout');
    expect(logout).toHaveLength(1);
    expect(logout[0]?.headers['signature-input']).toBeDefined();
  });

  it('shows an expired session', async () => {
    await signIn(page, demo.url, 'alice');
    // Waiting for the balances leaves no call of this page load in flight.
    await balances(page);
    await context.clearCookies();
    expect(await context.cookies(demo.url)).toEqual([]);

    const rejected = page.waitForResponse((response) => response.url().endsWith('/api/accounts'));
    await page.reload();

    const rejection = await rejected;
    expect(rejection.status()).toBe(401);
    expect(((await rejection.json()) as { code?: string }).code).toBe('token_missing');

    const result = await notice(page);
    expect(result.kind).toBe('session-expired');
    expect(result.text).toContain('Your session has expired. Please sign in again.');
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect((await storedSession(page)).present).toBe(false);
    expect(await page.getByRole('button', { name: 'Sign out' }).isVisible()).toBe(false);
    expect(await page.getByRole('navigation').isVisible()).toBe(false);
    await screenshot(page, 'session-expired');
  });

  it('logs no CSP violation or error', () => {
    expect(consoleErrors.filter((text) => !/status of 401/.test(text))).toEqual([]);
  });

  // Runs last: the gateway then refuses every login of tessa for the rest of the window.
  it('tells wrong password from locked account', async () => {
    await page.goto(`${demo.url}/`);
    const attempt = async (): Promise<{
      kind: string | null;
      text: string;
      code: string | null;
    }> => {
      await page.getByLabel('Username').fill('tessa');
      await page.getByLabel('Password').fill('not-the-password');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
      return notice(page);
    };

    const wrong = await attempt();
    expect(wrong).toMatchObject({ kind: 'rejected', code: 'credentials_invalid' });
    expect(wrong.text).toContain('Wrong username or password.');
    await screenshot(page, 'login-wrong-password');

    let locked = wrong;
    for (let tries = 0; tries < 10 && locked.code !== 'login_rate_limited'; tries += 1) {
      locked = await attempt();
    }
    expect(locked).toMatchObject({ kind: 'rejected', code: 'login_rate_limited' });
    expect(locked.text).toMatch(
      /This account is locked after too many failed sign-in attempts\. Try again in \d+ (minute|second)/,
    );
    await screenshot(page, 'login-locked');

    await page.getByLabel('Password').fill(DEMO_PASSWORDS.tessa as string);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect((await notice(page)).code).toBe('login_rate_limited');
  });
});
