import { closeSync, openSync } from 'node:fs';

import Database from 'better-sqlite3';

/**
 * When an earlier process that used the same file could last have accepted a request: `none`
 * when the file is new, `unknown` when it predates this record, otherwise a time in epoch ms.
 */
export type PreviousActivity = 'none' | 'unknown' | number;

/**
 * Revocations of the in-process store, kept in a SQLite file so that a restarted gateway still
 * rejects the sessions that logged out before it stopped. Rows expire with their revocation.
 *
 * The file also records until when this process may accept requests, so that the next process
 * can tell which signatures the lost nonce history could still cover.
 */
export class RevocationFile {
  readonly #db: Database.Database;
  readonly #insert: Database.Statement;
  readonly #setActiveUntil: Database.Statement;
  /** The record the previous process left, read before this one overwrites it. */
  readonly previousActivity: PreviousActivity;

  /**
   * Opens or creates `file` (mode 0600).
   *
   * @throws Error naming the file when it cannot be opened or is not a revocation file.
   */
  constructor(file: string) {
    try {
      closeSync(openSync(file, 'a', 0o600));
      this.#db = new Database(file);
      this.#db.pragma('journal_mode = WAL');
      // A logout must survive a crash right after its response, like an audit entry.
      this.#db.pragma('synchronous = FULL');
      const isNew =
        this.#db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'revocations'").get() ===
        undefined;
      this.#db.exec(
        'CREATE TABLE IF NOT EXISTS revocations (session_id TEXT PRIMARY KEY, until_ms INTEGER NOT NULL) STRICT',
      );
      this.#db.exec(
        'CREATE TABLE IF NOT EXISTS activity (id INTEGER PRIMARY KEY CHECK (id = 1), active_until_ms INTEGER NOT NULL) STRICT',
      );
      const row = this.#db.prepare('SELECT active_until_ms FROM activity WHERE id = 1').get() as
        { active_until_ms: number } | undefined;
      this.previousActivity = row?.active_until_ms ?? (isNew ? 'none' : 'unknown');
      this.#insert = this.#db.prepare(
        `INSERT INTO revocations (session_id, until_ms) VALUES (?, ?)
         ON CONFLICT(session_id) DO UPDATE SET until_ms = max(until_ms, excluded.until_ms)`,
      );
      this.#setActiveUntil = this.#db.prepare(
        `INSERT INTO activity (id, active_until_ms) VALUES (1, ?)
         ON CONFLICT(id) DO UPDATE SET active_until_ms = max(active_until_ms, excluded.active_until_ms)`,
      );
    } catch (error) {
      throw new Error(`Failed to open the revocation file ${file}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  /**
   * Records durably that this process may accept requests until `untilMs`. The caller renews it
   * before that time passes. The record never moves back, so a clock stepped back while a
   * process runs cannot shrink the window the next process guards.
   */
  recordActiveUntil(untilMs: number): void {
    this.#setActiveUntil.run(untilMs);
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
