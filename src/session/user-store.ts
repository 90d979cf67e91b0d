import { closeSync, openSync } from 'node:fs';

import Database from 'better-sqlite3';

import { hashPassword } from './password.js';

/** A user record in the gateway's user store. */
export interface UserRecord {
  id: string;
  username: string;
  passwordHash: string;
  roles: string[];
}

/** Storage of users and their credentials: SQLite by default, PostgreSQL when scaled out. */
export interface UserStore {
  findByUsername(username: string): Promise<UserRecord | undefined>;
  /** Inserts or replaces a user, hashing `password` with argon2id. */
  upsert(user: { id: string; username: string; password: string; roles: string[] }): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** User store in a SQLite file. */
export class SqliteUserStore implements UserStore {
  readonly #db: Database.Database;

  constructor(file: string) {
    // Password hashes are secrets: create the file readable by its owner only. SQLite gives its
    // -wal and -shm files the same mode.
    closeSync(openSync(file, 'a', 0o600));
    this.#db = new Database(file);
    this.#db.pragma('journal_mode = WAL');
    this.#db.exec(`CREATE TABLE IF NOT EXISTS users (
      id TEXT PRIMARY KEY,
      username TEXT NOT NULL UNIQUE,
      password_hash TEXT NOT NULL,
      roles TEXT NOT NULL
    )`);
  }

  async findByUsername(username: string): Promise<UserRecord | undefined> {
    const row = this.#db
      .prepare('SELECT id, username, password_hash, roles FROM users WHERE username = ?')
      .get(username) as
      { id: string; username: string; password_hash: string; roles: string } | undefined;
    if (row === undefined) return undefined;
    return {
      id: row.id,
      username: row.username,
      passwordHash: row.password_hash,
      roles: JSON.parse(row.roles),
    };
  }

  async upsert(user: {
    id: string;
    username: string;
    password: string;
    roles: string[];
  }): Promise<void> {
    const passwordHash = await hashPassword(user.password);
    this.#db
      .prepare(
        `INSERT INTO users (id, username, password_hash, roles) VALUES (?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET username = excluded.username,
           password_hash = excluded.password_hash, roles = excluded.roles`,
      )
      .run(user.id, user.username, passwordHash, JSON.stringify(user.roles));
  }

  /** Number of users, so a seeding script can tell an empty store. */
  count(): number {
    return (this.#db.prepare('SELECT count(*) AS n FROM users').get() as { n: number }).n;
  }

  async ping(): Promise<void> {
    this.#db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    this.#db.close();
  }
}
