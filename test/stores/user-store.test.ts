import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { createPostgresPool } from '../../src/postgres/pool.js';
import { StoreUnavailableError } from '../../src/replay/replay-store.js';
import { verifyPassword } from '../../src/session/password.js';
import { PostgresUserStore } from '../../src/session/user-store-postgres.js';
import { SqliteUserStore, type UserStore } from '../../src/session/user-store.js';
import { createTestDatabase, startTcpProxy, type TestDatabase } from '../helpers/stores.js';

/** One implementation under the contract: how to open a fresh, empty store. */
interface Implementation {
  name: string;
  open(): Promise<{ store: UserStore; cleanup: () => Promise<void> }>;
}

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database.drop();
});

const implementations: Implementation[] = [
  {
    name: 'SqliteUserStore',
    open: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'rampart-users-'));
      const store = new SqliteUserStore(join(dir, 'users.sqlite'));
      return {
        store,
        cleanup: async () => {
          await store.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'PostgresUserStore',
    open: async () => {
      await database.pool.query('TRUNCATE users');
      return { store: new PostgresUserStore(database.pool), cleanup: async () => undefined };
    },
  },
];

describe.each(implementations)('$name (UserStore contract)', ({ open }) => {
  let store: UserStore;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    ({ store, cleanup } = await open());
  });

  afterEach(async () => {
    await cleanup();
  });

  it('finds a user by username with an argon2id hash of the password', async () => {
    await store.upsert({ id: 'u-1', username: 'alice', password: 'pw-alice', roles: ['customer'] });

    const user = await store.findByUsername('alice');

    expect(user?.id).toBe('u-1');
    expect(user?.username).toBe('alice');
    expect(user?.roles).toEqual(['customer']);
    expect(user?.passwordHash).toMatch(/^\$argon2id\$/);
    expect(await verifyPassword(user?.passwordHash, 'pw-alice')).toBe(true);
  });

  it('returns undefined for an unknown username', async () => {
    expect(await store.findByUsername('nobody')).toBeUndefined();
  });

  it('matches the username exactly', async () => {
    await store.upsert({ id: 'u-1', username: 'alice', password: 'pw', roles: [] });

    expect(await store.findByUsername('Alice')).toBeUndefined();
    expect(await store.findByUsername('alice ')).toBeUndefined();
  });

  it('replaces the username, password and roles of an existing id', async () => {
    await store.upsert({ id: 'u-1', username: 'alice', password: 'old', roles: ['customer'] });
    await store.upsert({
      id: 'u-1',
      username: 'alice2',
      password: 'new',
      roles: ['teller', 'auditor'],
    });

    const user = await store.findByUsername('alice2');

    expect(await store.findByUsername('alice')).toBeUndefined();
    expect(user?.roles).toEqual(['teller', 'auditor']);
    expect(await verifyPassword(user?.passwordHash, 'new')).toBe(true);
  });

  it('rejects a username that another id holds', async () => {
    await store.upsert({ id: 'u-1', username: 'alice', password: 'pw', roles: [] });

    await expect(
      store.upsert({ id: 'u-2', username: 'alice', password: 'pw', roles: [] }),
    ).rejects.toThrow();
    expect((await store.findByUsername('alice'))?.id).toBe('u-1');
  });

  it('keeps an empty role list', async () => {
    await store.upsert({ id: 'u-1', username: 'alice', password: 'pw', roles: [] });

    expect((await store.findByUsername('alice'))?.roles).toEqual([]);
  });

  it('answers ping', async () => {
    await expect(store.ping()).resolves.toBeUndefined();
  });
});

describe('PostgresUserStore without a database', () => {
  it('rejects with StoreUnavailableError while unreachable, then recovers', async () => {
    const target = new URL(database.url);
    const proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
    const url = new URL(database.url);
    url.host = `127.0.0.1:${proxy.port}`;
    const pool = createPostgresPool({ url: url.toString(), connectTimeoutMs: 300 });
    const store = new PostgresUserStore(pool);
    try {
      await store.upsert({ id: 'u-9', username: 'zoe', password: 'pw', roles: [] });

      proxy.setMode('reset');
      const error: unknown = await store.findByUsername('zoe').catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect((error as StoreUnavailableError).message).not.toContain(url.toString());

      proxy.setMode('forward');
      expect((await store.findByUsername('zoe'))?.id).toBe('u-9');
    } finally {
      await pool.end();
      await proxy.close();
    }
  });

  it('times out a query the server does not answer', async () => {
    const target = new URL(database.url);
    const proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
    const url = new URL(database.url);
    url.host = `127.0.0.1:${proxy.port}`;
    const pool = createPostgresPool({
      url: url.toString(),
      connectTimeoutMs: 300,
      queryTimeoutMs: 300,
    });
    const store = new PostgresUserStore(pool);
    try {
      proxy.setMode('blackhole');
      const started = Date.now();
      const error: unknown = await store.ping().catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect((error as StoreUnavailableError).reason).toBe('timeout');
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      await pool.end();
      await proxy.close();
    }
  });
});
