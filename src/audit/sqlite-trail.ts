import { existsSync } from 'node:fs';

import Database from 'better-sqlite3';

import type { AuditEntry } from './audit-entry.js';
import type { AuditCheckpoint } from './checkpoint.js';
import type { AuditCheckpointRow, AuditEntryRow } from './sqlite-schema.js';
import { hasCheckpointVersion, rowToCheckpoint, rowToEntry } from './sqlite-schema.js';

/** A stored trail opened for reading: every checkpoint, and the entries in `seq` order. */
export interface StoredTrail<Entries> {
  checkpoints: AuditCheckpoint[];
  entries: Entries;
}

/**
 * Opens a SQLite audit log read-only and calls `read` with its trail inside one read
 * transaction, so a gateway may append while `read` runs and `read` still reads one snapshot.
 *
 * Throws an `Error` naming the path when the file is missing or is not an audit log.
 */
export function readSqliteTrail<T>(
  file: string,
  read: (trail: StoredTrail<IterableIterator<AuditEntry>>) => T,
): T {
  const db = openReadOnly(file);
  try {
    return db.transaction(() => read(loadTrail(db))).deferred();
  } finally {
    db.close();
  }
}

function loadTrail(db: Database.Database): StoredTrail<IterableIterator<AuditEntry>> {
  // A file written before checkpoint times were signed has no version column, and all of its
  // checkpoints use payload version 1.
  const versionColumn = hasCheckpointVersion(db) ? 'version' : '1 AS version';
  const checkpointRows = db
    .prepare(
      `SELECT seq, hash, key_id, signature, created_at, ${versionColumn}
       FROM audit_checkpoints ORDER BY seq`,
    )
    .all() as AuditCheckpointRow[];

  const entryRows = db
    .prepare(
      `SELECT seq, time, event, outcome, code, subject, session_id, request_id, method, path,
        body_digest, client_address, service, upstream_status, latency_ms, prev_hash, hash
       FROM audit_entries ORDER BY seq`,
    )
    .iterate() as IterableIterator<AuditEntryRow>;

  return { checkpoints: checkpointRows.map(rowToCheckpoint), entries: mapRows(entryRows) };
}

function* mapRows(rows: IterableIterator<AuditEntryRow>): IterableIterator<AuditEntry> {
  for (const row of rows) yield rowToEntry(row);
}

/** Opens the file read-only and checks that it has both audit tables. */
function openReadOnly(file: string): Database.Database {
  if (!existsSync(file)) throw new Error(`Audit log file not found: ${file}`);

  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw new Error(`Failed to open the audit log ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }

  let tables: string[];
  try {
    tables = db
      .prepare(
        `SELECT name FROM sqlite_schema
         WHERE type = 'table' AND name IN ('audit_entries', 'audit_checkpoints')`,
      )
      .pluck()
      .all() as string[];
  } catch (error) {
    db.close();
    throw new Error(`Failed to read the audit log ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }

  for (const table of ['audit_entries', 'audit_checkpoints']) {
    if (!tables.includes(table)) {
      db.close();
      throw new Error(`${file} is not a Rampart audit log: table ${table} is missing.`);
    }
  }
  return db;
}
