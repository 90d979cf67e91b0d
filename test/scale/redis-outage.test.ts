import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  startGatewayHarness,
  TEST_PASSWORD,
  type GatewayHarness,
} from '../helpers/gateway-harness.js';
import { sendRaw } from '../helpers/raw-http.js';
import { loginSession, sendSigned, type TestSession } from '../helpers/signing-session.js';
import { startOwnRedis, type OwnRedis } from '../helpers/stores.js';

// The gateway runs on a redis-server of this test's own, which the test stops and restarts;
// the shared Redis is never touched.
let redis: OwnRedis;
let harness: GatewayHarness;

beforeAll(async () => {
  redis = await startOwnRedis();
  harness = await startGatewayHarness(
    { stores: { redis: { commandTimeoutMs: 200 } } },
    { env: { REDIS_URL: redis.url } },
  );
});

afterAll(async () => {
  await harness?.close();
  await redis?.stop();
});

/** Returns one call of every signed kind the gateway takes, each with a fresh nonce. */
function signedCalls(session: TestSession) {
  return [
    () => sendSigned(harness.url, session, { method: 'GET', target: '/api/items' }),
    () => sendSigned(harness.url, session, { method: 'GET', target: '/api/items/7' }),
    () =>
      sendSigned(harness.url, session, {
        method: 'POST',
        target: '/api/items',
        body: '{"amount":"1.00"}',
      }),
    () => sendSigned(harness.url, session, { method: 'DELETE', target: '/api/items/7', body: '' }),
    () => sendSigned(harness.url, session, { method: 'POST', target: '/auth/refresh', body: '' }),
    () => sendSigned(harness.url, session, { method: 'POST', target: '/auth/logout', body: '' }),
  ];
}

async function waitUntilOk(call: () => Promise<{ status: number }>): Promise<number> {
  let status = 0;
  for (let attempt = 0; attempt < 50 && status !== 200; attempt += 1) {
    status = (await call()).status;
    if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return status;
}

describe('gateway on Redis when Redis stops', () => {
  it('answers every signed call with 503, forwards none, and recovers', async () => {
    const session = await loginSession(harness.url, 'alice', TEST_PASSWORD);
    expect(
      (await sendSigned(harness.url, session, { method: 'GET', target: '/api/items' })).status,
    ).toBe(200);
    const forwarded = harness.upstream.calls.length;

    await redis.stop();
    try {
      for (const call of signedCalls(session)) {
        const response = await call();
        expect(response.status).toBe(503);
        expect(response.headers['content-type']).toBe('application/problem+json');
        expect(response.json.code).toBe('store_unavailable');
      }
      const login = await loginSession(harness.url, 'tessa', TEST_PASSWORD).catch(
        (error: Error) => error.message,
      );
      const ready = await sendRaw(harness.url, { method: 'GET', target: '/readyz' });

      expect(harness.upstream.calls).toHaveLength(forwarded);
      expect(login).toBe('login failed: 503 store_unavailable');
      expect(ready.status).toBe(503);
      expect(ready.json.stores).toMatchObject({ replay: { backend: 'redis', state: 'down' } });
      expect(ready.body.toString()).not.toContain(`127.0.0.1:${redis.port}`);
      expect(ready.body.toString()).not.toContain('redis://');
    } finally {
      await redis.start();
    }

    const status = await waitUntilOk(() =>
      sendSigned(harness.url, session, { method: 'GET', target: '/api/items' }),
    );
    const ready = await sendRaw(harness.url, { method: 'GET', target: '/readyz' });

    expect(status).toBe(200);
    expect(ready.status).toBe(200);
    expect(harness.upstream.calls.length).toBe(forwarded + 1);
  });

  it('answers 503 when Redis stops answering, within the command timeout', async () => {
    const session = await loginSession(harness.url, 'alice', TEST_PASSWORD);
    const forwarded = harness.upstream.calls.length;
    const admin = new Redis(redis.url);
    await admin.call('CLIENT', 'PAUSE', '1500', 'ALL');
    try {
      const started = Date.now();
      const response = await sendSigned(harness.url, session, {
        method: 'POST',
        target: '/api/items',
        body: '{"amount":"1.00"}',
      });

      expect(response.status).toBe(503);
      expect(response.json.code).toBe('store_unavailable');
      expect(Date.now() - started).toBeLessThan(1000);
      expect(harness.upstream.calls).toHaveLength(forwarded);
    } finally {
      await admin.call('CLIENT', 'UNPAUSE');
      admin.disconnect();
    }

    const status = await waitUntilOk(() =>
      sendSigned(harness.url, session, { method: 'GET', target: '/api/items' }),
    );
    expect(status).toBe(200);
  });
});
