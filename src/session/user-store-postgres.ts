import type pg from 'pg';

import { isDataError, postgresUnavailable } from '../postgres/pool.js';
import { hashPassword } from './password.js';
import type { UserRecord, UserStore } from './user-store.js';

/**
 * User store in PostgreSQL, in the `users` table that `rampart migrate` creates. Every gateway
 * instance reads the same users.
 *
 * Each method is one query. A query that fails for lack of a database, or times out, rejects
 * with `StoreUnavailableError`, which the gateway turns into 503 `store_unavailable`; a
 * constraint violation, such as a username another id holds, rejects with the `pg` error.
 */
export class PostgresUserStore implements UserStore {
  readonly #pool: pg.Pool;

  /** @param pool pool of a migrated database; the store never ends it. */
  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async findByUsername(username: string): Promise<UserRecord | undefined> {
    const result = await this.#query<{
      id: string;
      username: string;
      password_hash: string;
      roles: string[];
    }>('find user', 'SELECT id, username, password_hash, roles FROM users WHERE username = $1', [
      username,
    ]);
    const row = result.rows[0];
    if (row === undefined) return undefined;
    return {
      id: row.id,
      username: row.username,
      passwordHash: row.password_hash,
      roles: row.roles,
    };
  }

  async upsert(user: {
    id: string;
    username: string;
    password: string;
    roles: string[];
  }): Promise<void> {
    const passwordHash = await hashPassword(user.password);
    await this.#query(
      'upsert user',
      `INSERT INTO users (id, username, password_hash, roles) VALUES ($1, $2, $3, $4)
       ON CONFLICT (id) DO UPDATE SET username = excluded.username,
         password_hash = excluded.password_hash, roles = excluded.roles`,
      [user.id, user.username, passwordHash, JSON.stringify(user.roles)],
    );
  }

  /** Number of users, so a seeding script can tell an empty store. */
  async count(): Promise<number> {
    const result = await this.#query<{ count: string }>(
      'count users',
      'SELECT count(*) AS count FROM users',
    );
    return Number(result.rows[0]?.count ?? 0);
  }

  async ping(): Promise<void> {
    await this.#query('ping', 'SELECT 1 FROM users LIMIT 1');
  }

  /** Does nothing, because the pool belongs to the caller that created it. */
  async close(): Promise<void> {}

  async #query<Row extends pg.QueryResultRow>(
    action: string,
    sql: string,
    values: unknown[] = [],
  ): Promise<pg.QueryResult<Row>> {
    try {
      return await this.#pool.query<Row>(sql, values);
    } catch (error) {
      if (isDataError(error)) throw error;
      throw postgresUnavailable(error, action);
    }
  }
}
