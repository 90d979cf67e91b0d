import { existsSync } from 'node:fs';
import { join } from 'node:path';

import type pg from 'pg';

import type { AuditLog } from '../audit/audit-entry.js';
import { PostgresAuditLog } from '../audit/audit-log-postgres.js';
import { SqliteAuditLog } from '../audit/audit-log-sqlite.js';
import { readSchemaStatus } from '../postgres/migrate.js';
import { createPostgresPool } from '../postgres/pool.js';
import { MemoryReplayStore } from '../replay/memory-replay-store.js';
import type { GatewayStateStore } from '../replay/rate-limit-store.js';
import { RedisReplayStore } from '../replay/redis-replay-store.js';
import type { StoreLogger } from '../replay/replay-store.js';
import type { RampartKeys } from '../session/key-file.js';
import { PostgresUserStore } from '../session/user-store-postgres.js';
import { SqliteUserStore, type UserStore } from '../session/user-store.js';
import type { GatewayConfig } from './config.js';
import type { StoreName } from './store-health.js';

// A previous process renews its record at most a few seconds ahead of its clock. A record
// further ahead than this means the clock was ahead then or is behind now.
const RESTART_GUARD_WARNING_SECONDS = 10;

/** The environment variables that select the scale-out stores. */
export interface StoreEnvironment {
  /** Selects the Redis replay store and rate limiter when set. */
  REDIS_URL?: string;
  /** Selects the PostgreSQL user store and audit log when set. */
  DATABASE_URL?: string;
}

/** Stores a caller supplies in place of the ones the environment selects. */
export interface StoreOverrides {
  replayStore?: GatewayStateStore;
  userStore?: UserStore;
  auditLog?: AuditLog;
}

/** The stores a gateway runs on, with the backend kind of each for `/readyz`. */
export interface GatewayStores {
  replayStore: GatewayStateStore;
  userStore: UserStore;
  auditLog: AuditLog;
  backends: Record<StoreName, string>;
  /**
   * Closes every store, supplied ones too, and the PostgreSQL pool. A store that fails to close
   * (such as an audit log that cannot write its final checkpoint) is logged, not thrown, so the
   * others still close.
   */
  close(): Promise<void>;
}

/**
 * Opens the gateway's stores. `REDIS_URL` selects Redis for nonces, revocations and rate-limit
 * counters; `DATABASE_URL` selects PostgreSQL for users and the audit trail. Without them the
 * embedded defaults are used: the in-process store and SQLite files in `config.dataDir`.
 *
 * Neither backend needs to be up at start-up: the gateway starts, responds with 503 to calls that
 * need the missing store, and recovers when it returns. The PostgreSQL schema is checked when
 * the database answers.
 *
 * @throws Error when the database answers but its schema is older than this code needs, with
 *   the instruction to run `rampart migrate`.
 */
export async function openStores(
  config: GatewayConfig,
  keys: RampartKeys,
  env: StoreEnvironment,
  logger: StoreLogger,
  overrides: StoreOverrides = {},
): Promise<GatewayStores> {
  const redisUrl = emptyToUndefined(env.REDIS_URL);
  const databaseUrl = emptyToUndefined(env.DATABASE_URL);

  let replayStore = overrides.replayStore;
  let replayBackend = 'custom';
  if (replayStore === undefined && redisUrl !== undefined) {
    const redis = new RedisReplayStore({ url: redisUrl, logger, ...config.stores.redis });
    // Waiting a moment lets the first requests after start find the connection ready; the
    // gateway starts without it and reconnects in the background.
    if (!(await redis.waitUntilReady(config.stores.redis.connectTimeoutMs))) {
      logger.warn(
        { store: 'redis' },
        'Redis is not reachable yet; signed calls get 503 until it is',
      );
    }
    replayStore = redis;
    replayBackend = 'redis';
  } else if (replayStore === undefined) {
    const revocationFile = join(config.dataDir, 'revocations.sqlite');
    // The embedded audit log is opened after this store. When its file is already there, an
    // earlier gateway used this folder, so a new revocation file means the old one was lost.
    const earlierGateway = existsSync(join(config.dataDir, 'audit.sqlite'));
    const memory = new MemoryReplayStore({
      maxEntries: config.replay.maxEntries,
      revocationFile,
      newFileMeansFresh: !earlierGateway,
    });
    const guardedSeconds = memory.nonceHistoryStart - Math.floor(Date.now() / 1000);
    if (guardedSeconds > RESTART_GUARD_WARNING_SECONDS) {
      logger.warn(
        { file: revocationFile, guardedUntil: new Date(memory.nonceHistoryStart * 1000) },
        'the revocation file records activity in the future (was the clock ahead?); signed calls get 503 store_starting until then',
      );
    }
    replayStore = memory;
    replayBackend = 'memory';
  }

  let pool: pg.Pool | undefined;
  if (
    databaseUrl !== undefined &&
    (overrides.userStore === undefined || overrides.auditLog === undefined)
  ) {
    pool = createPostgresPool({ url: databaseUrl, logger, ...config.stores.postgres });
    await checkSchema(pool, logger);
  }

  const checkpoints = {
    checkpointEvery: config.audit.checkpointEvery,
    checkpointIntervalSeconds: config.audit.checkpointIntervalSeconds,
  };
  let userStore = overrides.userStore;
  let usersBackend = 'custom';
  if (userStore === undefined) {
    userStore =
      pool !== undefined
        ? new PostgresUserStore(pool)
        : new SqliteUserStore(join(config.dataDir, 'users.sqlite'));
    usersBackend = pool !== undefined ? 'postgres' : 'sqlite';
  }

  let auditLog = overrides.auditLog;
  let auditBackend = 'custom';
  if (auditLog === undefined) {
    const signer = { signingKey: keys.audit.privateKey, keyId: keys.audit.kid, ...checkpoints };
    auditLog =
      pool !== undefined
        ? new PostgresAuditLog({ pool, logger, ...signer })
        : new SqliteAuditLog({ file: join(config.dataDir, 'audit.sqlite'), ...signer });
    auditBackend = pool !== undefined ? 'postgres' : 'sqlite';
  }

  const stores = { replayStore, userStore, auditLog };
  return {
    ...stores,
    backends: { replay: replayBackend, users: usersBackend, audit: auditBackend },
    async close() {
      const names = ['replay', 'users', 'audit'] as const;
      const results = await Promise.allSettled([
        stores.replayStore.close(),
        stores.userStore.close(),
        stores.auditLog.close(),
      ]);
      results.forEach((result, index) => {
        if (result.status === 'rejected') {
          logger.error({ store: names[index], err: result.reason }, 'store failed to close');
        }
      });
      await pool?.end();
    },
  };
}

async function checkSchema(pool: pg.Pool, logger: StoreLogger): Promise<void> {
  let status;
  try {
    status = await readSchemaStatus(pool);
  } catch (error) {
    logger.warn(
      { store: 'postgres', err: error },
      'PostgreSQL is not reachable yet; logins and audited calls get 503 until it is',
    );
    return;
  }
  if (status.current < status.latest) {
    throw new Error(
      `the database schema is at version ${status.current}, this gateway needs ${status.latest}; run "rampart migrate" first`,
    );
  }
  if (status.current > status.latest) {
    // A newer gateway migrated the database during a rolling upgrade; migrations only add.
    logger.warn(
      { store: 'postgres', schemaVersion: status.current, knownVersion: status.latest },
      'the database schema is newer than this gateway',
    );
  }
}

function emptyToUndefined(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
