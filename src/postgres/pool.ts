import pg from 'pg';

import { StoreUnavailableError, type StoreLogger } from '../replay/replay-store.js';

/** Options of {@link createPostgresPool}. */
export interface PostgresPoolOptions {
  /** `postgres://` or `postgresql://` URL, usually from `DATABASE_URL`. It is never logged. */
  url: string;
  /**
   * Time a query may take, in milliseconds, enforced by the client (so a silent network also
   * times out) and by the server as `statement_timeout`. Default 5000.
   */
  queryTimeoutMs?: number;
  /** Time to open a connection or to wait for a free one, in milliseconds. Default 2000. */
  connectTimeoutMs?: number;
  /** Connections per pool. Default 10. */
  maxConnections?: number;
  /** Receives errors of idle connections. Default: no logging. */
  logger?: StoreLogger;
}

const DEFAULTS = { queryTimeoutMs: 5000, connectTimeoutMs: 2000, maxConnections: 10 } as const;

/**
 * Creates a `pg` connection pool with a timeout on every step, so a database that stops
 * responding fails a call instead of holding it. The pool reconnects by itself: each checkout
 * opens a new connection when the old ones are gone.
 *
 * A session that stays idle inside a transaction (a gateway paused mid-append) is ended by the
 * server after the query timeout, which releases the audit chain lock it holds.
 */
export function createPostgresPool(options: PostgresPoolOptions): pg.Pool {
  if (typeof options.url !== 'string' || !/^postgres(ql)?:\/\//.test(options.url)) {
    throw new TypeError(
      'Option "url" must be a postgres:// or postgresql:// URL; check DATABASE_URL (its value is not shown here).',
    );
  }
  const queryTimeoutMs = options.queryTimeoutMs ?? DEFAULTS.queryTimeoutMs;
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.maxConnections ?? DEFAULTS.maxConnections,
    connectionTimeoutMillis: options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
    query_timeout: queryTimeoutMs,
    statement_timeout: queryTimeoutMs,
    lock_timeout: queryTimeoutMs,
    idle_in_transaction_session_timeout: queryTimeoutMs,
    keepAlive: true,
    application_name: 'rampart',
  });

  // Without a listener, an error on an idle connection (the server went away) would crash
  // the process. The next checkout opens a new connection.
  let lastMessage: string | undefined;
  pool.on('error', (error) => {
    if (error.message === lastMessage) return;
    lastMessage = error.message;
    options.logger?.error({ store: 'postgres', err: error }, 'idle PostgreSQL connection failed');
  });
  pool.on('connect', () => {
    lastMessage = undefined;
  });
  return pool;
}

// SQLSTATE codes of a cancelled statement (statement_timeout) and of lock_timeout.
const TIMEOUT_CODES = new Set(['57014', '55P03']);

/**
 * Returns true for an error about the data rather than the database: SQLSTATE class 22 (data
 * exception) or 23 (integrity constraint violation), such as a duplicate username. Those are
 * the caller's problem and must not mark the store as down.
 */
export function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}

/**
 * Wraps a failed PostgreSQL call in `StoreUnavailableError`: `timeout` for a query, lock or
 * connection timeout, `unreachable` for anything else.
 */
export function postgresUnavailable(error: unknown, action: string): StoreUnavailableError {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown }).code;
  const timedOut =
    (typeof code === 'string' && TIMEOUT_CODES.has(code)) || /timeout/i.test(message);
  return new StoreUnavailableError(
    timedOut ? 'timeout' : 'unreachable',
    `PostgreSQL ${action} failed: ${message}`,
    { cause: error },
  );
}

/**
 * Checks a connection out of `pool` with an `error` listener attached until `release`. `pg`
 * emits a broken connection's error on the client as well as on its running query. An unheard
 * `error` event would end the process, so the listener ignores it; the query's rejection
 * already reports the error.
 */
export async function checkOut(pool: pg.Pool): Promise<{
  client: pg.PoolClient;
  /** Returns the connection to the pool, or drops it when `broken` is true. */
  release(broken?: boolean): void;
}> {
  const client = await pool.connect();
  const ignore = (): void => undefined;
  client.on('error', ignore);
  return {
    client,
    release(broken = false) {
      client.off('error', ignore);
      client.release(broken);
    },
  };
}
