import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  PostgresAuditLog,
  verifyAuditTrail,
  type AuditVerifyResult,
} from '../../src/audit/index.js';
import { RampartError } from '../../src/errors.js';
import { createPostgresPool } from '../../src/postgres/pool.js';
import { StoreUnavailableError } from '../../src/replay/replay-store.js';
import { appendRequests, createAuditKeys, requestInput } from '../audit/fixtures.js';
import { createTestDatabase, startTcpProxy, type TestDatabase } from '../helpers/stores.js';

let database: TestDatabase;
const keys = createAuditKeys();

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database.drop();
});

beforeEach(async () => {
  await database.pool.query(`TRUNCATE audit_entries, audit_checkpoints;
    UPDATE audit_head SET seq = 0, hash = repeat('0', 64), checkpoint_seq = 0,
      pending_since = NULL`);
});

function failureOf(result: AuditVerifyResult): Extract<AuditVerifyResult, { ok: false }> {
  if (result.ok)
    throw new Error(`Expected a failed verification; received ${JSON.stringify(result)}.`);
  return result;
}

/** Opens a pool that reaches the test database through a proxy the test controls. */
async function proxiedPool(options: { queryTimeoutMs?: number } = {}) {
  const target = new URL(database.url);
  const proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
  const url = new URL(database.url);
  url.host = `127.0.0.1:${proxy.port}`;
  const pool = createPostgresPool({ url: url.toString(), connectTimeoutMs: 300, ...options });
  return {
    proxy,
    pool,
    async close() {
      await pool.end();
      await proxy.close();
    },
  };
}

describe('PostgresAuditLog chain head', () => {
  it('detects entries deleted after the last checkpoint', async () => {
    const log = new PostgresAuditLog({
      pool: database.pool,
      signingKey: keys.privateKey,
      checkpointEvery: 10,
    });
    await appendRequests(log, 15);
    await database.pool.query('DELETE FROM audit_entries WHERE seq > 12');

    const result = failureOf(
      await verifyAuditTrail({ pool: database.pool, publicKey: keys.publicKey }),
    );
    expect(result).toMatchObject({ seq: 13, at: 'entry', entries: 12 });
    expect(result.reason).toBe(
      'entry 13 is missing: the chain head records entry 15, but the trail ends at entry 12',
    );
    await log.close().catch(() => undefined);
  });

  it('detects an entry inserted behind the log', async () => {
    const log = new PostgresAuditLog({ pool: database.pool });
    const last = await log.append(requestInput(1));
    await log.close();
    // A copy of entry 1 at seq 2 links and hashes wrongly, but the head check fires for the
    // same position even when the forger gets both right.
    await database.pool.query(
      `INSERT INTO audit_entries SELECT 2, time, event, outcome, code, subject, session_id,
        request_id, method, path, body_digest, client_address, service, upstream_status,
        latency_ms, $1, hash FROM audit_entries WHERE seq = 1`,
      [last.hash],
    );

    const result = failureOf(await verifyAuditTrail({ pool: database.pool }));
    expect(result.seq).toBe(2);
  });

  it('names a last entry whose hash differs from the head', async () => {
    const log = new PostgresAuditLog({ pool: database.pool });
    await appendRequests(log, 3);
    await log.close();
    await database.pool.query(`UPDATE audit_head SET hash = repeat('a', 64)`);

    const result = failureOf(await verifyAuditTrail({ pool: database.pool }));
    expect(result).toMatchObject({ seq: 3, at: 'entry' });
    expect(result.reason).toBe('hash of entry 3 does not match the chain head');
  });

  it('keeps one chain when an appender dies holding the head lock', async () => {
    const log = new PostgresAuditLog({ pool: database.pool });
    await log.append(requestInput(1));

    // A session that locked the head and then vanished, as a gateway killed mid-append would.
    const stuck = new pg.Client({ connectionString: database.url });
    await stuck.connect();
    stuck.on('error', () => undefined);
    await stuck.query('BEGIN');
    await stuck.query('SELECT * FROM audit_head FOR UPDATE');
    const pid = (await stuck.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;

    const waiting = log.append(requestInput(2));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await database.pool.query('SELECT pg_terminate_backend($1)', [pid]);
    const second = await waiting;
    await log.close();

    expect(second.seq).toBe(2);
    expect(await verifyAuditTrail({ pool: database.pool })).toMatchObject({ ok: true, entries: 2 });
  });
});

describe('PostgresAuditLog without a database', () => {
  it('rejects append with store_unavailable while unreachable, then recovers', async () => {
    const { proxy, pool, close } = await proxiedPool();
    const log = new PostgresAuditLog({ pool });
    try {
      await log.append(requestInput(1));

      proxy.setMode('reset');
      const error: unknown = await log.append(requestInput(2)).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(RampartError);
      expect(error).toHaveProperty('code', 'store_unavailable');
      expect((error as RampartError).cause).toBeInstanceOf(StoreUnavailableError);
      await expect(log.ping()).rejects.toMatchObject({ code: 'store_unavailable' });

      proxy.setMode('forward');
      const next = await log.append(requestInput(3));
      expect(next.seq).toBe(2);
    } finally {
      await log.close().catch(() => undefined);
      await close();
    }
    expect(await verifyAuditTrail({ pool: database.pool })).toMatchObject({ ok: true, entries: 2 });
  });

  it('times out an append the server does not answer', async () => {
    const { proxy, pool, close } = await proxiedPool({ queryTimeoutMs: 300 });
    const log = new PostgresAuditLog({ pool });
    try {
      await log.append(requestInput(1));
      proxy.setMode('blackhole');
      // Lets the pool notice that its idle connection was cut, so the append needs a new one.
      await new Promise((resolve) => setTimeout(resolve, 50));

      const started = Date.now();
      const error: unknown = await log.append(requestInput(2)).catch((caught: unknown) => caught);

      expect(error).toHaveProperty('code', 'store_unavailable');
      expect(((error as RampartError).cause as StoreUnavailableError).reason).toBe('timeout');
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      proxy.setMode('forward');
      await log.close().catch(() => undefined);
      await close();
    }
  });
});

describe('PostgresAuditLog options', () => {
  it('rejects a key id without a signing key', () => {
    expect(() => new PostgresAuditLog({ pool: database.pool, keyId: 'k' })).toThrow(
      '"keyId" requires "signingKey"',
    );
  });

  it('rejects a checkpoint interval of zero', () => {
    expect(
      () => new PostgresAuditLog({ pool: database.pool, checkpointIntervalSeconds: 0 }),
    ).toThrow('"checkpointIntervalSeconds"');
  });
});
