import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';

import { Redis } from 'ioredis';
import pg from 'pg';

import { migrate } from '../../src/postgres/migrate.js';

/**
 * Redis the store tests use. A suite that cannot reach it fails: these tests never skip, so a
 * CI run without Redis cannot pass by accident.
 */
export const TEST_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** PostgreSQL server the store tests create their own databases on; they never skip either. */
export const TEST_DATABASE_URL =
  process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Returns a key prefix no other test uses, so suites can share one Redis database. */
export function uniqueKeyPrefix(): string {
  return `rampart-test:${randomBytes(6).toString('hex')}:`;
}

/** Throws a clear error unless Redis at `url` replies to PING within two seconds. */
export async function requireRedis(url = TEST_REDIS_URL): Promise<void> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    throw new Error(
      `Redis at ${redactUrl(url)} is not reachable (${(error as Error).message}); start it or set REDIS_URL. These tests need it and do not skip.`,
    );
  } finally {
    client.disconnect();
  }
}

/** A database of its own for one suite, migrated to the current schema. */
export interface TestDatabase {
  /** Connection URL of the new database. */
  url: string;
  /** Name of the new database. */
  name: string;
  /** A pool on it, ended by `drop()`. */
  pool: pg.Pool;
  /** Ends the pool and drops the database, ending any session still on it. */
  drop(): Promise<void>;
}

/**
 * Creates a uniquely named database on the server of `TEST_DATABASE_URL` and, unless
 * `migrated` is false, runs the migrations on it. Throws a clear error when the server cannot
 * be reached.
 */
export async function createTestDatabase(
  options: { migrated?: boolean } = {},
): Promise<TestDatabase> {
  const name = `rampart_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({
    connectionString: TEST_DATABASE_URL,
    connectionTimeoutMillis: 2000,
  });
  try {
    await admin.connect();
  } catch (error) {
    throw new Error(
      `PostgreSQL at ${redactUrl(TEST_DATABASE_URL)} is not reachable (${(error as Error).message}); start it or set DATABASE_URL. These tests need it and do not skip.`,
    );
  }
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }

  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 4 });
  pool.on('error', () => undefined);
  if (options.migrated !== false) await migrate(pool);

  return {
    url: url.toString(),
    name,
    pool,
    async drop() {
      await pool.end();
      const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** Returns a TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** A redis-server of the test's own, on a spare loopback port, that it may stop and restart. */
export interface OwnRedis {
  url: string;
  port: number;
  /** Starts the server, or starts it again on the same port after `stop()`. */
  start(): Promise<void>;
  /** Stops the server and waits for the process to exit. */
  stop(): Promise<void>;
}

/** Starts a redis-server without persistence on a free loopback port. */
export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    for (let attempt = 0; attempt < 100; attempt += 1) {
      try {
        await requireRedis(url);
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    throw new Error(`redis-server on port ${port} did not start within 5 s`);
  };

  const stop = async (): Promise<void> => {
    const running = child;
    if (running === undefined || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGTERM');
    await exited;
  };

  await start();
  return { url, port, start, stop };
}

/** How a {@link TcpProxy} treats connections. */
export type ProxyMode = 'forward' | 'reset' | 'blackhole';

/** A loopback TCP proxy in front of a real server, to make it unreachable or silent on demand. */
export interface TcpProxy {
  port: number;
  /**
   * Sets how connections are treated. `forward` passes bytes both ways. `reset` destroys every
   * connection, open or new, as a stopped server would. `blackhole` keeps new connections open
   * but passes nothing, as a hung server would. Switching away from `forward` also cuts open
   * connections.
   */
  setMode(mode: ProxyMode): void;
  close(): Promise<void>;
}

/** Starts a proxy on a free loopback port that forwards to `target` (host:port). */
export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  let mode: ProxyMode = 'forward';
  const sockets = new Set<import('node:net').Socket>();
  const { connect } = await import('node:net');

  const server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    if (mode === 'reset') {
      client.resetAndDestroy();
      return;
    }
    if (mode === 'blackhole') return;

    const upstream = connect(targetPort, targetHost);
    sockets.add(upstream);
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  return {
    port: (server.address() as AddressInfo).port,
    setMode(next) {
      mode = next;
      if (next !== 'forward') {
        for (const socket of sockets) socket.destroy();
        sockets.clear();
      }
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Returns the URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(invalid URL)';
  }
}
