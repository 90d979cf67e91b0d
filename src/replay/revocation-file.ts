import { closeSync, openSync } from 'node:fs';

import Database from 'better-sqlite3';

/**
 * Revocations of the in-process store, kept in a SQLite file so that a restarted gateway still
 * rejects the sessions that logged out before it stopped. Rows expire with their revocation.
 */
export class RevocationFile {
  readonly #db: Database.Database;
  readonly #insert: Database.Statement;

  /** Opens or creates `file` (mode 0600). */
  constructor(file: string) {
    closeSync(openSync(file, 'a', 0o600));
    this.#db = new Database(file);
    this.#db.pragma('journal_mode = WAL');
    // A logout must survive a crash right after its answer, like an audit entry.
    this.#db.pragma('synchronous = FULL');
    this.#db.exec(
      'CREATE TABLE IF NOT EXISTS revocations (session_id TEXT PRIMARY KEY, until_ms INTEGER NOT NULL) STRICT',
    );
    this.#insert = this.#db.prepare(
      `INSERT INTO revocations (session_id, until_ms) VALUES (?, ?)
       ON CONFLICT(session_id) DO UPDATE SET until_ms = max(until_ms, excluded.until_ms)`,
    );
  }

  /** Deletes lapsed rows and returns the live ones as session id and expiry in milliseconds. */
  load(nowMs: number): Array<[string, number]> {
    this.#db.prepare('DELETE FROM revocations WHERE until_ms <= ?').run(nowMs);
    const rows = this.#db.prepare('SELECT session_id, until_ms FROM revocations').all() as Array<{
      session_id: string;
      until_ms: number;
    }>;
    return rows.map((row) => [row.session_id, row.until_ms]);
  }

  /** Records a revocation durably before the caller answers the logout. */
  save(sessionId: string, untilMs: number): void {
    this.#insert.run(sessionId, untilMs);
  }

  close(): void {
    this.#db.close();
  }
}
