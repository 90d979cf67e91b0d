import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { verifyAuditTrail } from '../../src/audit/verify-trail.js';
import { PostgresUserStore } from '../../src/session/user-store-postgres.js';
import {
  startGatewayHarness,
  TEST_PASSWORD,
  type GatewayHarness,
} from '../helpers/gateway-harness.js';
import { sendRaw } from '../helpers/raw-http.js';
import { loginSession, sendSigned, type TestSession } from '../helpers/signing-session.js';
import {
  createTestDatabase,
  startTcpProxy,
  type TcpProxy,
  type TestDatabase,
} from '../helpers/stores.js';

// The gateway reaches a database of this test's own through a TCP proxy that the test can
// make refuse connections (a stopped server) or swallow them (a hung server).
let database: TestDatabase;
let proxy: TcpProxy;
let harness: GatewayHarness;

beforeAll(async () => {
  database = await createTestDatabase();
  const users = new PostgresUserStore(database.pool);
  await users.upsert({
    id: 'u-alice',
    username: 'alice',
    password: TEST_PASSWORD,
    roles: ['customer'],
  });
  await users.upsert({
    id: 'u-tessa',
    username: 'tessa',
    password: TEST_PASSWORD,
    roles: ['teller'],
  });

  const target = new URL(database.url);
  proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
  const proxied = new URL(database.url);
  proxied.host = `127.0.0.1:${proxy.port}`;
  harness = await startGatewayHarness(
    { stores: { postgres: { queryTimeoutMs: 400, connectTimeoutMs: 300 } } },
    // No userStore here, so DATABASE_URL selects PostgreSQL for users as well as the trail.
    { env: { DATABASE_URL: proxied.toString() }, userStore: undefined },
  );
});

afterAll(async () => {
  await harness?.close();
  await proxy?.close();
  await database?.drop();
});

function transfer(session: TestSession) {
  return sendSigned(harness.url, session, {
    method: 'POST',
    target: '/api/items',
    body: '{"amount":"5.00"}',
  });
}

async function waitUntilOk(call: () => Promise<{ status: number }>): Promise<number> {
  let status = 0;
  for (let attempt = 0; attempt < 50 && status !== 200; attempt += 1) {
    status = (await call()).status;
    if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return status;
}

describe('gateway on PostgreSQL when PostgreSQL is unreachable', () => {
  it('forwards no state-changing call, reports the stores down, and recovers', async () => {
    const session = await loginSession(harness.url, 'alice', TEST_PASSWORD);
    expect((await transfer(session)).status).toBe(200);
    const forwarded = harness.upstream.calls.length;

    proxy.setMode('reset');
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 3; i += 1) {
        const response = await transfer(session);
        expect(response.json.code).toBe('store_unavailable');
        statuses.push(response.status);
      }
      const read = await sendSigned(harness.url, session, { method: 'GET', target: '/api/items' });
      const login = await loginSession(harness.url, 'tessa', TEST_PASSWORD).catch(
        (error: Error) => error.message,
      );
      const ready = await sendRaw(harness.url, { method: 'GET', target: '/readyz' });

      expect(statuses).toEqual([503, 503, 503]);
      // The audit store already failed, so the read is refused before it is forwarded.
      expect(read.status).toBe(503);
      expect(harness.upstream.calls).toHaveLength(forwarded);
      expect(login).toBe('login failed: 503 store_unavailable');
      expect(ready.status).toBe(503);
      expect(ready.json.stores).toEqual({
        replay: { backend: 'memory', state: 'up' },
        users: { backend: 'postgres', state: 'down' },
        audit: { backend: 'postgres', state: 'down' },
      });
    } finally {
      proxy.setMode('forward');
    }

    expect(await waitUntilOk(() => transfer(session))).toBe(200);
    expect((await sendRaw(harness.url, { method: 'GET', target: '/readyz' })).status).toBe(200);
    expect(await verifyAuditTrail({ pool: database.pool })).toMatchObject({ ok: true });
  });

  it('forwards no state-changing call while PostgreSQL hangs', async () => {
    const session = await loginSession(harness.url, 'alice', TEST_PASSWORD);
    const forwarded = harness.upstream.calls.length;

    proxy.setMode('blackhole');
    try {
      // Lets the pool notice that its connections were cut, so the call needs a new one.
      await new Promise((resolve) => setTimeout(resolve, 50));
      const started = Date.now();
      const response = await transfer(session);

      expect(response.status).toBe(503);
      expect(response.json.code).toBe('store_unavailable');
      expect(Date.now() - started).toBeLessThan(3000);
      expect(harness.upstream.calls).toHaveLength(forwarded);
    } finally {
      proxy.setMode('forward');
    }

    expect(await waitUntilOk(() => transfer(session))).toBe(200);
  });
});
