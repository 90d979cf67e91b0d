/**
 * Child processes for the gateway benchmark: a trivial upstream, a plain Fastify proxy and a
 * Rampart gateway. Each prints one JSON line with its port when it listens. Run as
 * `tsx bench/servers.ts <kind> <args>`.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import proxy from '@fastify/http-proxy';
import Fastify from 'fastify';
import pg from 'pg';

import { parseConfig } from '../src/gateway/config.js';
import { createGateway } from '../src/gateway/create-gateway.js';
import { generateKeyFile, loadKeyFile, writeKeyFile } from '../src/session/key-file.js';
import { migrate } from '../src/postgres/migrate.js';
import { PostgresUserStore } from '../src/session/user-store-postgres.js';
import { SqliteUserStore } from '../src/session/user-store.js';

/** Login used by the load client. */
export const BENCH_USER = { username: 'bench', password: 'bench-password-not-secret' };

const [kind, upstreamUrl] = process.argv.slice(2);

function announce(port: number): void {
  process.stdout.write(`${JSON.stringify({ port })}\n`);
}

if (kind === 'upstream') {
  const body = JSON.stringify({ accounts: [{ id: 'acc-1', balance: '100.00' }] });
  const server = createServer((_request, response) => {
    response.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    });
    response.end(body);
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => announce((server.address() as AddressInfo).port));
}

if (kind === 'proxy') {
  const app = Fastify({ logger: false });
  await app.register(proxy, { upstream: upstreamUrl as string });
  await app.listen({ host: '127.0.0.1', port: 0 });
  announce((app.server.address() as AddressInfo).port);
}

if (kind === 'rampart' || kind === 'rampart-shared') {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-bench-gw-'));
  const keysFile = join(dir, 'keys.json');
  writeKeyFile(keysFile, generateKeyFile(['gateway-upstream']));
  const config = parseConfig(
    {
      listen: { host: '127.0.0.1', port: 0 },
      keysFile,
      dataDir: dir,
      services: { upstream: { url: upstreamUrl, hopKeyId: 'gateway-upstream' } },
      routes: [
        { method: 'GET', path: '/api/accounts', service: 'upstream', permission: 'accounts:read' },
      ],
      roles: { customer: ['accounts:read'] },
      // The limit stays on, so its counter is part of the cost, but far above the load.
      sessionRateLimit: { maxRequests: 1_000_000_000 },
    },
    dir,
  );
  const shared = kind === 'rampart-shared' ? await createSharedStores() : undefined;
  const users =
    shared === undefined
      ? new SqliteUserStore(join(dir, 'users.sqlite'))
      : new PostgresUserStore(shared.pool);
  await users.upsert({
    id: 'u-bench',
    username: BENCH_USER.username,
    password: BENCH_USER.password,
    roles: ['customer'],
  });
  const gateway = await createGateway(config, {
    keys: loadKeyFile(keysFile),
    userStore: users,
    logger: false,
    env:
      shared === undefined ? {} : { REDIS_URL: shared.redisUrl, DATABASE_URL: shared.databaseUrl },
  });
  process.once('SIGTERM', () => {
    void gateway.close().then(async () => {
      await shared?.drop();
      process.exit(0);
    });
  });
  await gateway.app.listen({ host: '127.0.0.1', port: 0 });
  announce((gateway.app.server.address() as AddressInfo).port);
}

/**
 * Creates a fresh, migrated PostgreSQL database for configuration (d) next to the shared Redis.
 * BENCH_DATABASE_URL and BENCH_REDIS_URL override the local defaults.
 */
async function createSharedStores() {
  const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const name = `rampart_bench_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();

  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 4 });
  await migrate(pool);
  return {
    pool,
    redisUrl,
    databaseUrl: url.toString(),
    async drop() {
      await pool.end();
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}
