import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { harness } from './harness/sdk-harness.js';
import { launchChromium } from './helpers/chromium.js';
import { startHarnessServer, type HarnessServer } from './helpers/harness-server.js';

declare global {
  interface Window {
    rampart: typeof harness;
  }
}

let browser: Browser;
let server: HarnessServer;
let page: Page;

beforeAll(async () => {
  server = await startHarnessServer();
  browser = await launchChromium();
  page = await browser.newPage();
  await page.goto(`${server.url}/`);
  await page.waitForFunction(() => window.rampart !== undefined);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

// Each test runs a whole scenario in the page against a stub gateway that signs its responses
// with the session key, as the real gateway does.
describe('RampartBrowserClient in Chromium', () => {
  it('refreshes once for concurrent calls', async () => {
    const result = await page.evaluate(async () => {
      const r = window.rampart;
      const { key, store, sessionId } = await r.storedSessionFixture(20);
      const stub = r.stubGateway({
        key,
        sessionId,
        respond: (call) => {
          const now = Math.floor(Date.now() / 1000);
          return call.path === '/auth/refresh'
            ? {
                status: 200,
                body: { expiresAt: now + 300, sessionExpiresAt: now + 3600, serverTime: now },
              }
            : { status: 200, body: { ok: true } };
        },
      });
      const client = new r.RampartBrowserClient({ store, fetch: stub.fetch });

      const responses = await Promise.all([
        client.fetch('/api/a'),
        client.fetch('/api/b'),
        client.fetch('/api/c'),
      ]);
      const stored = await store.load(location.origin);
      return {
        statuses: responses.map((response) => response.status),
        paths: stub.calls.map((call) => call.path),
        secondsLeft: Math.round(((stored?.localExpiresAt ?? 0) - Date.now()) / 1000),
      };
    });

    expect(result.statuses).toEqual([200, 200, 200]);
    expect(result.paths[0]).toBe('/auth/refresh');
    expect(result.paths.filter((path) => path === '/auth/refresh')).toHaveLength(1);
    expect(result.paths.slice(1).sort()).toEqual(['/api/a', '/api/b', '/api/c']);
    expect(result.secondsLeft).toBeGreaterThan(290);
  });

  it('learns clock offset from signed clock_skew', async () => {
    const result = await page.evaluate(async () => {
      const r = window.rampart;
      // The page's clock runs ten minutes fast.
      const { key, store, sessionId } = await r.storedSessionFixture(300, 600_000);
      const stub = r.stubGateway({
        key,
        sessionId,
        respond: (_call, index) =>
          index === 0
            ? {
                status: 401,
                body: { code: 'clock_skew', serverTime: Math.floor(Date.now() / 1000) },
              }
            : { status: 201, body: { ok: true } },
      });
      const client = new r.RampartBrowserClient({
        store,
        fetch: stub.fetch,
        clock: () => Date.now() + 600_000,
      });

      const response = await client.fetch('/api/transfers', { method: 'POST', body: { a: 1 } });
      return {
        status: response.status,
        calls: stub.calls.map((call) => ({
          created: call.created,
          nonce: call.nonce,
          key: call.headers['idempotency-key'],
        })),
        offset: client.clockOffset,
        storedOffset: (await store.load(location.origin))?.clockOffset,
        now: Math.floor(Date.now() / 1000),
      };
    });

    expect(result.status).toBe(201);
    expect(result.calls).toHaveLength(2);
    expect(result.calls[0]?.created).toBeGreaterThanOrEqual(result.now + 590);
    expect(Math.abs((result.calls[1]?.created ?? 0) - result.now)).toBeLessThanOrEqual(2);
    expect(result.calls[1]?.key).toBe(result.calls[0]?.key);
    expect(result.calls[1]?.nonce).not.toBe(result.calls[0]?.nonce);
    expect(Math.abs(result.offset + 600)).toBeLessThanOrEqual(2);
    expect(result.storedOffset).toBe(result.offset);
  });

  it('ignores an unsigned clock_skew', async () => {
    const result = await page.evaluate(async () => {
      const r = window.rampart;
      const { key, store, sessionId } = await r.storedSessionFixture(300);
      const stub = r.stubGateway({
        key,
        sessionId,
        respond: () => ({
          status: 401,
          body: { code: 'clock_skew', serverTime: 1 },
          signed: false,
        }),
      });
      const client = new r.RampartBrowserClient({ store, fetch: stub.fetch });

      const response = await client.fetch('/api/accounts');
      return { status: response.status, calls: stub.calls.length, offset: client.clockOffset };
    });

    expect(result).toEqual({ status: 401, calls: 1, offset: 0 });
  });

  it('waits out a short store_starting and signs again', async () => {
    const result = await page.evaluate(async () => {
      const r = window.rampart;
      const { key, store, sessionId } = await r.storedSessionFixture(300);
      const stub = r.stubGateway({
        key,
        sessionId,
        respond: (_call, index) =>
          index === 0
            ? { status: 503, body: { code: 'store_starting', retryAfter: 1 }, signed: false }
            : { status: 200, body: { ok: true } },
      });
      const client = new r.RampartBrowserClient({ store, fetch: stub.fetch });

      const response = await client.fetch('/api/accounts');
      return {
        status: response.status,
        calls: stub.calls.length,
        newNonce: stub.calls[0]?.nonce !== stub.calls[1]?.nonce,
      };
    });

    expect(result).toEqual({ status: 200, calls: 2, newNonce: true });
  });

  it('returns a long store_starting without waiting', async () => {
    const result = await page.evaluate(async () => {
      const r = window.rampart;
      const { key, store, sessionId } = await r.storedSessionFixture(300);
      const stub = r.stubGateway({
        key,
        sessionId,
        respond: () => ({
          status: 503,
          body: { code: 'store_starting', retryAfter: 3600 },
          signed: false,
        }),
      });
      const client = new r.RampartBrowserClient({ store, fetch: stub.fetch });

      const response = await client.fetch('/api/accounts');
      return { status: response.status, calls: stub.calls.length };
    });

    expect(result).toEqual({ status: 503, calls: 1 });
  });

  it('drops the key on token_expired', async () => {
    const result = await page.evaluate(async () => {
      const r = window.rampart;
      const { key, store, sessionId } = await r.storedSessionFixture(300);
      const stub = r.stubGateway({
        key,
        sessionId,
        respond: () => ({ status: 401, body: { code: 'token_expired' }, signed: false }),
      });
      const client = new r.RampartBrowserClient({ store, fetch: stub.fetch });
      const code = (promise: Promise<unknown>) =>
        promise.then(
          () => 'resolved',
          (error: { code?: string }) => error.code,
        );

      return {
        first: await code(client.fetch('/api/accounts')),
        stored: (await store.load(location.origin)) !== undefined,
        second: await code(client.fetch('/api/accounts')),
        calls: stub.calls.length,
      };
    });

    expect(result).toEqual({
      first: 'token_expired',
      stored: false,
      second: 'not_logged_in',
      calls: 1,
    });
  });

  it('rejects an expired stored session', async () => {
    const result = await page.evaluate(async () => {
      const r = window.rampart;
      const { store } = await r.storedSessionFixture(-1);
      const client = new r.RampartBrowserClient({ store });
      const code = await client.restore().then(
        () => 'restored',
        (error: { code?: string }) => error.code,
      );
      return { code, stored: (await store.load(location.origin)) !== undefined };
    });

    expect(result).toEqual({ code: 'session_expired', stored: false });
  });

  it('adds Idempotency-Key and body to unsafe methods', async () => {
    const result = await page.evaluate(async () => {
      const r = window.rampart;
      const { key, store, sessionId } = await r.storedSessionFixture(300);
      const stub = r.stubGateway({
        key,
        sessionId,
        respond: () => ({ status: 200, body: {} }),
      });
      const client = new r.RampartBrowserClient({ store, fetch: stub.fetch });

      await client.fetch('/api/accounts');
      await client.fetch('/api/things', { method: 'DELETE' });
      await client.fetch('/api/transfers', { method: 'POST', body: {}, idempotencyKey: 'mine' });
      return stub.calls.map((call) => ({
        key: call.headers['idempotency-key'],
        digest: call.headers['content-digest'],
        input: call.headers['signature-input'],
      }));
    });

    expect(result[0]?.key).toBeUndefined();
    expect(result[0]?.digest).toBeUndefined();
    expect(result[0]?.input).toMatch(/^sig1=\("@method" "@authority" "@path" "@query"\);/);
    expect(result[1]?.key).toMatch(/^[0-9a-f-]{36}$/);
    expect(result[1]?.digest).toBe('sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:');
    expect(result[1]?.input).toContain('"content-digest" "content-type" "idempotency-key"');
    expect(result[2]?.key).toBe('mine');
  });

  it('refuses an origin other than the page’s', async () => {
    const message = await page.evaluate(() => {
      try {
        new window.rampart.RampartBrowserClient({ origin: 'http://localhost:1' });
        return 'created';
      } catch (error) {
        return String(error);
      }
    });

    expect(message).toMatch(/^TypeError: option origin must be the page's origin/);
  });
});
