import type { KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';

import Database from 'better-sqlite3';

import type { AuditCheckpoint } from './checkpoint.js';
import { assertEd25519Key, verifyCheckpointSignature } from './checkpoint.js';
import { computeEntryHash, GENESIS_HASH } from './entry-hash.js';
import type { AuditCheckpointRow, AuditEntryRow } from './sqlite-schema.js';
import { rowToCheckpoint, rowToEntry } from './sqlite-schema.js';

/** Options of `verifyAuditTrail`. */
export interface VerifyAuditTrailOptions {
  /** Path of the SQLite audit log. */
  file: string;
  /** Ed25519 public key of the audit key. Without it, checkpoint signatures are not checked. */
  publicKey?: KeyObject;
}

/**
 * Result of `verifyAuditTrail`. On failure, `seq` names the first entry that does not match,
 * `reason` gives the cause, and `entries` counts the entries verified before it.
 */
export type AuditVerifyResult =
  | { ok: true; entries: number; checkpoints: number; lastHash: string }
  | { ok: false; seq: number; reason: string; entries: number };

/**
 * Verifies a SQLite audit log and names the first entry that does not match.
 *
 * Walks the entries in `seq` order and checks that no `seq` is missing, that each `prev_hash`
 * equals the hash of the entry before, and that each hash matches the entry contents. It
 * checks each checkpoint where the walk reaches its entry: the checkpoint hash must equal the
 * entry hash, and with `publicKey` the signature must verify. A checkpoint beyond the last
 * entry means that the tail was deleted.
 *
 * All reads happen in one read transaction, so a gateway may append while this runs.
 * Throws an `Error` naming the path when the file is missing or is not an audit log, and a
 * `TypeError` when `publicKey` is not an Ed25519 public key.
 *
 * NOTE: without `publicKey`, someone who rewrites the chain can rewrite the checkpoint hashes
 * too. Deleting entries after the last checkpoint, or deleting checkpoints along with the
 * tail, is not detectable from the file alone, so keep `lastHash` or the checkpoints elsewhere.
 */
export function verifyAuditTrail(options: VerifyAuditTrailOptions): AuditVerifyResult {
  const { file, publicKey } = options;
  if (publicKey !== undefined) assertEd25519Key(publicKey, 'public', 'publicKey');

  const db = openReadOnly(file);
  try {
    return db.transaction(() => verifyOpenTrail(db, publicKey)).deferred();
  } finally {
    db.close();
  }
}

function verifyOpenTrail(
  db: Database.Database,
  publicKey: KeyObject | undefined,
): AuditVerifyResult {
  const checkpoints = new Map<number, AuditCheckpoint>();
  const checkpointRows = db
    .prepare('SELECT seq, hash, key_id, signature, created_at FROM audit_checkpoints ORDER BY seq')
    .all() as AuditCheckpointRow[];
  for (const row of checkpointRows) checkpoints.set(row.seq, rowToCheckpoint(row));

  const entryRows = db
    .prepare(
      `SELECT seq, time, event, outcome, code, subject, session_id, request_id, method, path,
        body_digest, client_address, service, upstream_status, latency_ms, prev_hash, hash
       FROM audit_entries ORDER BY seq`,
    )
    .iterate() as IterableIterator<AuditEntryRow>;

  let lastSeq = 0;
  let lastHash = GENESIS_HASH;
  let checkpointsVerified = 0;
  for (const row of entryRows) {
    const entry = rowToEntry(row);
    const expectedSeq = lastSeq + 1;

    // A gap means an entry was deleted. A seq below the expected one can only be 0 or negative,
    // because seq is the primary key and rows arrive in order.
    if (entry.seq > expectedSeq) {
      return failure(expectedSeq, `entry ${expectedSeq} is missing`, lastSeq);
    }
    if (entry.seq < expectedSeq) {
      return failure(
        entry.seq,
        `entry ${entry.seq} is out of sequence; expected entry ${expectedSeq}`,
        lastSeq,
      );
    }

    if (entry.prevHash !== lastHash) {
      const reason =
        lastSeq === 0
          ? 'prev_hash of the first entry is not the genesis hash (64 zeros)'
          : `prev_hash does not link to entry ${lastSeq}`;
      return failure(entry.seq, reason, lastSeq);
    }

    if (computeEntryHash(entry) !== entry.hash) {
      return failure(entry.seq, 'hash does not match the entry contents', lastSeq);
    }

    const checkpoint = checkpoints.get(entry.seq);
    if (checkpoint !== undefined) {
      const reason = checkCheckpoint(checkpoint, entry.hash, publicKey);
      if (reason !== undefined) return failure(entry.seq, reason, lastSeq);
      checkpointsVerified += 1;
    }

    lastSeq = entry.seq;
    lastHash = entry.hash;
  }

  // Every checkpoint at or below lastSeq was checked in the walk, so one left over is either
  // beyond the end of the chain or refers to no entry at all.
  for (const checkpoint of checkpoints.values()) {
    if (checkpoint.seq < 1) {
      return failure(
        checkpoint.seq,
        `checkpoint at seq ${checkpoint.seq} refers to no entry`,
        lastSeq,
      );
    }
    if (checkpoint.seq > lastSeq) {
      const missing = lastSeq + 1;
      return failure(
        missing,
        `entry ${missing} is missing: a checkpoint covers entry ${checkpoint.seq}, but the trail ends at entry ${lastSeq}`,
        lastSeq,
      );
    }
  }

  return { ok: true, entries: lastSeq, checkpoints: checkpointsVerified, lastHash };
}

/** Returns the reason the checkpoint fails, or undefined when it matches. */
function checkCheckpoint(
  checkpoint: AuditCheckpoint,
  entryHash: string,
  publicKey: KeyObject | undefined,
): string | undefined {
  if (checkpoint.hash !== entryHash) {
    return `checkpoint hash does not match the hash of entry ${checkpoint.seq}`;
  }

  if (publicKey === undefined) return undefined;
  const valid = verifyCheckpointSignature(
    checkpoint.seq,
    checkpoint.hash,
    checkpoint.signature,
    publicKey,
  );
  if (!valid)
    return `checkpoint signature for entry ${checkpoint.seq} is invalid (key id ${checkpoint.keyId})`;
  return undefined;
}

function failure(seq: number, reason: string, entries: number): AuditVerifyResult {
  return { ok: false, seq, reason, entries };
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
