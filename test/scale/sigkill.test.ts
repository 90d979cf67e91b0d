import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { main } from '../../src/cli/main.js';
import { DEMO_PASSWORDS } from '../../examples/bank/demo-users.js';
import {
  PUBLIC_HOST,
  PUBLIC_HOST_HEADER,
  startScaledBank,
  type GatewayProcess,
} from '../helpers/scaled-bank.js';
import { loginSession, sendSigned, type TestSession } from '../helpers/signing-session.js';
import {
  createTestDatabase,
  requireRedis,
  TEST_REDIS_URL,
  type TestDatabase,
} from '../helpers/stores.js';

let database: TestDatabase;
let bank: Awaited<ReturnType<typeof startScaledBank>>;

beforeAll(async () => {
  await requireRedis();
  database = await createTestDatabase();
  bank = await startScaledBank({
    redisUrl: TEST_REDIS_URL,
    databaseUrl: database.url,
    instances: 1,
    config: { audit: { checkpointEvery: 10 } },
  });
}, 60_000);

afterAll(async () => {
  await bank?.close();
  await database?.drop();
});

function transfer(gateway: GatewayProcess, session: TestSession) {
  return sendSigned(gateway.url, session, {
    method: 'POST',
    target: '/api/transfers',
    authority: PUBLIC_HOST,
    headers: [PUBLIC_HOST_HEADER],
    body: JSON.stringify({
      fromAccount: 'acc-alice-checking',
      toAccount: 'acc-bob-checking',
      amount: '1.00',
    }),
  });
}

async function verifyWithCli(): Promise<{ code: number; output: string }> {
  const output: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string) => output.push(chunk) > 0) as typeof process.stdout.write;
  try {
    const code = await main([
      'node',
      'rampart',
      'audit',
      'verify',
      '--database-url',
      database.url,
      '--keys',
      bank.keysFile,
    ]);
    return { code, output: output.join('') };
  } finally {
    process.stdout.write = write;
  }
}

describe('gateway killed with SIGKILL during a stream of transfers', () => {
  it('leaves a trail that verifies, with an entry for every acknowledged transfer', async () => {
    const gateway = bank.gateways[0] as GatewayProcess;
    const session = await loginSession(gateway.url, 'alice', DEMO_PASSWORDS.alice as string);
    const acknowledged: string[] = [];
    let failed = 0;

    // Four clients send transfers back to back until the gateway is gone; it dies after 30
    // acknowledgements, while other transfers are in flight.
    const client = async (): Promise<void> => {
      for (;;) {
        try {
          const response = await transfer(gateway, session);
          if (response.status >= 200 && response.status < 300) {
            acknowledged.push(response.headers['rampart-request-id'] as string);
          }
        } catch {
          failed += 1;
          return;
        }
      }
    };
    const killer = async (): Promise<void> => {
      while (acknowledged.length < 30) await new Promise((resolve) => setTimeout(resolve, 2));
      await gateway.stop('SIGKILL');
    };
    await Promise.all([client(), client(), client(), client(), killer()]);

    const verified = await verifyWithCli();
    const entries = await database.pool.query<{
      request_id: string;
      upstream_status: number | null;
    }>(
      `SELECT request_id, upstream_status FROM audit_entries
       WHERE outcome = 'allowed' AND request_id = ANY($1)`,
      [acknowledged],
    );
    const decided = new Set(
      entries.rows.filter((row) => row.upstream_status === null).map((row) => row.request_id),
    );
    const completed = new Set(
      entries.rows.filter((row) => row.upstream_status === 201).map((row) => row.request_id),
    );

    expect(failed).toBe(4);
    expect(acknowledged.length).toBeGreaterThanOrEqual(30);
    expect(verified.output).toMatch(/^audit trail OK: /);
    expect(verified.code).toBe(0);
    expect(acknowledged.filter((id) => !decided.has(id))).toEqual([]);
    expect(acknowledged.filter((id) => !completed.has(id))).toEqual([]);
  }, 60_000);

  it('lets a new instance continue the same chain', async () => {
    const gateway = await bank.startGateway();
    const session = await loginSession(gateway.url, 'alice', DEMO_PASSWORDS.alice as string);

    const response = await transfer(gateway, session);
    const verified = await verifyWithCli();

    expect(response.status).toBe(201);
    expect(verified.code).toBe(0);
  }, 60_000);
});
