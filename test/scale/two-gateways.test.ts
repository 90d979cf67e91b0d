import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { main } from '../../src/cli/main.js';
import { readKeyFile } from '../../src/session/key-file.js';
import { replaceKeyFile, rotateKeyFile } from '../../src/session/key-rotation.js';
import { DEMO_PASSWORDS } from '../../examples/bank/demo-users.js';
import { sendRaw } from '../helpers/raw-http.js';
import {
  PUBLIC_HOST,
  PUBLIC_HOST_HEADER,
  startScaledBank,
  type GatewayProcess,
} from '../helpers/scaled-bank.js';
import {
  loginSession,
  sendSigned,
  signRequest,
  type SignedRequestSpec,
  type TestSession,
} from '../helpers/signing-session.js';
import {
  createTestDatabase,
  requireRedis,
  TEST_REDIS_URL,
  type TestDatabase,
} from '../helpers/stores.js';

// Two gateway processes on different ports behind one Redis and one PostgreSQL database, in
// front of the demo bank: what a load balancer with two instances would see.
let database: TestDatabase;
let bank: Awaited<ReturnType<typeof startScaledBank>>;
let a: GatewayProcess;
let b: GatewayProcess;

beforeAll(async () => {
  await requireRedis();
  database = await createTestDatabase();
  bank = await startScaledBank({
    redisUrl: TEST_REDIS_URL,
    databaseUrl: database.url,
    instances: 2,
    config: { login: { maxFailures: 3 }, sessionRateLimit: { maxRequests: 40 } },
  });
  [a, b] = bank.gateways as [GatewayProcess, GatewayProcess];
}, 60_000);

afterAll(async () => {
  await bank?.close();
  await database?.drop();
});

function tokenKid(token: string): string {
  const header = Buffer.from(token.split('.')[0] as string, 'base64url').toString();
  return (JSON.parse(header) as { kid: string }).kid;
}

/** Addresses `spec` to the public host, as a load balancer forwards it. */
function publicRequest(spec: SignedRequestSpec): SignedRequestSpec {
  return {
    ...spec,
    authority: PUBLIC_HOST,
    headers: [PUBLIC_HOST_HEADER, ...(spec.headers ?? [])],
  };
}

function call(gateway: GatewayProcess, session: TestSession, spec: SignedRequestSpec) {
  return sendSigned(gateway.url, session, publicRequest(spec));
}

async function balance(gateway: GatewayProcess, session: TestSession): Promise<string> {
  const response = await call(gateway, session, {
    method: 'GET',
    target: '/api/accounts/acc-alice-checking',
  });
  return (response.json as { balance: string }).balance;
}

describe('two gateway instances on one Redis and one PostgreSQL', () => {
  it('serve the demo bank from either instance', async () => {
    const alice = await loginSession(a.url, 'alice', DEMO_PASSWORDS.alice as string);

    const fromA = await call(a, alice, { method: 'GET', target: '/api/accounts' });
    const fromB = await call(b, alice, { method: 'GET', target: '/api/accounts' });
    const transfer = await call(b, alice, {
      method: 'POST',
      target: '/api/transfers',
      body: JSON.stringify({
        fromAccount: 'acc-alice-checking',
        toAccount: 'acc-bob-checking',
        amount: '2.00',
      }),
    });

    expect(fromA.status).toBe(200);
    expect(fromB.status).toBe(200);
    expect(fromB.json).toEqual(fromA.json);
    expect(transfer.status).toBe(201);
  });

  it('accept 1,000 concurrent copies once', async () => {
    const alice = await loginSession(b.url, 'alice', DEMO_PASSWORDS.alice as string);
    const before = await balance(a, alice);
    const request = signRequest(
      a.url,
      alice,
      publicRequest({
        method: 'POST',
        target: '/api/transfers',
        body: JSON.stringify({
          fromAccount: 'acc-alice-checking',
          toAccount: 'acc-bob-checking',
          amount: '1.00',
        }),
      }),
    );

    const responses = await Promise.all(
      Array.from({ length: 1000 }, (_, index) => sendRaw((index % 2 === 0 ? a : b).url, request)),
    );
    const after = await balance(b, alice);

    const accepted = responses.filter((response) => response.status === 201);
    const replayed = responses.filter((response) => response.json.code === 'nonce_replayed');
    // On a loaded machine a store call can time out; the gateway then fails closed with 503,
    // which still accepts nothing. Every other answer must be a replay rejection.
    const failedClosed = responses.filter((response) => response.json.code === 'store_unavailable');
    expect(accepted).toHaveLength(1);
    expect(replayed.length + failedClosed.length).toBe(999);
    expect(failedClosed.length).toBeLessThan(100);
    expect(Number(before) - Number(after)).toBeCloseTo(1, 2);

    const entries = await database.pool.query<{ outcome: string; count: string }>(
      `SELECT outcome, count(*) AS count FROM audit_entries
       WHERE session_id = $1 AND path = '/api/transfers' GROUP BY outcome ORDER BY outcome`,
      [alice.sessionId],
    );
    // The accepted call has its decision entry and its completion entry; every replay rejection
    // is recorded, and a 503 may have found the audit store unable to take its entry too.
    const counts = Object.fromEntries(entries.rows.map((row) => [row.outcome, Number(row.count)]));
    expect(counts.allowed).toBe(2);
    expect(counts.rejected).toBeGreaterThanOrEqual(replayed.length);
    expect(counts.rejected).toBeLessThanOrEqual(999);
  }, 60_000);

  it('revoke a logged-out token everywhere', async () => {
    const alice = await loginSession(a.url, 'alice', DEMO_PASSWORDS.alice as string);
    expect((await call(b, alice, { method: 'GET', target: '/api/accounts' })).status).toBe(200);

    const logout = await call(a, alice, { method: 'POST', target: '/auth/logout', body: '' });
    const afterLogout = await call(b, alice, { method: 'GET', target: '/api/accounts' });

    expect(logout.status).toBe(200);
    expect(afterLogout.status).toBe(401);
    expect(afterLogout.json.code).toBe('session_revoked');
  });

  it('hold the login lockout across instances', async () => {
    const statusOf = (gateway: GatewayProcess, password: string) =>
      loginSession(gateway.url, 'bob', password).then(
        () => 200,
        (error: Error) => Number(/login failed: (\d+)/.exec(error.message)?.[1]),
      );

    expect(await statusOf(a, 'wrong-1')).toBe(401);
    expect(await statusOf(b, 'wrong-2')).toBe(401);
    expect(await statusOf(a, 'wrong-3')).toBe(401);
    expect(await statusOf(b, DEMO_PASSWORDS.bob as string)).toBe(429);
  });

  it('hold the session rate limit across instances', async () => {
    const tessa = await loginSession(a.url, 'tessa', DEMO_PASSWORDS.tessa as string);
    const statuses: number[] = [];
    for (let index = 0; index < 41; index += 1) {
      const gateway = index % 2 === 0 ? a : b;
      statuses.push(
        (await call(gateway, tessa, { method: 'GET', target: '/api/accounts' })).status,
      );
    }

    expect(statuses.slice(0, 40).every((status) => status === 200)).toBe(true);
    expect(statuses[40]).toBe(429);
  });

  it('reload a rotated token key on SIGHUP', async () => {
    const before = await loginSession(a.url, 'aude', DEMO_PASSWORDS.aude as string);
    const { file, added } = rotateKeyFile(readKeyFile(bank.keysFile), { scope: 'tokens' });
    replaceKeyFile(bank.keysFile, file);

    a.child.kill('SIGHUP');
    b.child.kill('SIGHUP');
    let kid = '';
    for (let attempt = 0; attempt < 50 && kid !== added[0]; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const session = await loginSession(b.url, 'aude', DEMO_PASSWORDS.aude as string);
      kid = tokenKid(session.token);
    }
    const after = await loginSession(a.url, 'aude', DEMO_PASSWORDS.aude as string);
    const oldTokenOnB = await call(b, before, { method: 'GET', target: '/api/accounts' });
    const newTokenOnB = await call(b, after, { method: 'GET', target: '/api/accounts' });

    expect(kid).toBe(added[0]);
    expect(tokenKid(after.token)).toBe(added[0]);
    expect(oldTokenOnB.status).toBe(200);
    expect(newTokenOnB.status).toBe(200);
  });

  it('leave one audit trail that verifies', async () => {
    const output: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) =>
      output.push(chunk) > 0) as typeof process.stdout.write;
    let code: number;
    try {
      code = await main([
        'node',
        'rampart',
        'audit',
        'verify',
        '--database-url',
        database.url,
        '--keys',
        bank.keysFile,
      ]);
    } finally {
      process.stdout.write = write;
    }

    expect(output.join('')).toMatch(/^audit trail OK: \d+ entries, \d+ signed checkpoints/);
    expect(code).toBe(0);
  });
});
