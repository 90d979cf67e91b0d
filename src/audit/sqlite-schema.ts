import type Database from 'better-sqlite3';

import type { AuditEntry, AuditEvent, AuditOutcome } from './audit-entry.js';
import type { AuditCheckpoint, CheckpointVersion } from './checkpoint.js';

/**
 * SQL that creates the audit tables in a SQLite file unless they exist. `STRICT` tables reject
 * a value of the wrong type, so a stored number cannot silently turn into text.
 */
export const AUDIT_SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS audit_entries (
  seq INTEGER PRIMARY KEY,
  time TEXT NOT NULL,
  event TEXT NOT NULL,
  outcome TEXT NOT NULL,
  code TEXT,
  subject TEXT,
  session_id TEXT,
  request_id TEXT,
  method TEXT,
  path TEXT,
  body_digest TEXT,
  client_address TEXT,
  service TEXT,
  upstream_status INTEGER,
  latency_ms REAL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS audit_checkpoints (
  seq INTEGER PRIMARY KEY,
  hash TEXT NOT NULL,
  key_id TEXT NOT NULL,
  signature TEXT NOT NULL,
  created_at TEXT NOT NULL,
  version INTEGER NOT NULL DEFAULT 1
) STRICT;
`;

/**
 * Adds the `version` column to `audit_checkpoints` in a file written before checkpoint times
 * were signed. Its existing rows get version 1, the payload they were signed with.
 */
export function upgradeCheckpointTable(db: Database.Database): void {
  if (!hasCheckpointVersion(db)) {
    db.exec('ALTER TABLE audit_checkpoints ADD COLUMN version INTEGER NOT NULL DEFAULT 1');
  }
}

/** Returns whether `audit_checkpoints` has the `version` column. */
export function hasCheckpointVersion(db: Database.Database): boolean {
  const columns = db.prepare('PRAGMA table_info(audit_checkpoints)').all() as Array<{
    name: string;
  }>;
  return columns.some((column) => column.name === 'version');
}

/** One row of `audit_entries`, with the column names as keys and `null` for a missing field. */
export interface AuditEntryRow {
  seq: number;
  time: string;
  event: string;
  outcome: string;
  code: string | null;
  subject: string | null;
  session_id: string | null;
  request_id: string | null;
  method: string | null;
  path: string | null;
  body_digest: string | null;
  client_address: string | null;
  service: string | null;
  upstream_status: number | null;
  latency_ms: number | null;
  prev_hash: string;
  hash: string;
}

/** One row of `audit_checkpoints`. */
export interface AuditCheckpointRow {
  seq: number;
  hash: string;
  key_id: string;
  signature: string;
  created_at: string;
  version: number;
}

/** Converts an entry to the row that stores it. */
export function entryToRow(entry: AuditEntry): AuditEntryRow {
  return {
    seq: entry.seq,
    time: entry.time,
    event: entry.event,
    outcome: entry.outcome,
    code: entry.code ?? null,
    subject: entry.subject ?? null,
    session_id: entry.sessionId ?? null,
    request_id: entry.requestId ?? null,
    method: entry.method ?? null,
    path: entry.path ?? null,
    body_digest: entry.bodyDigest ?? null,
    client_address: entry.clientAddress ?? null,
    service: entry.service ?? null,
    upstream_status: entry.upstreamStatus ?? null,
    latency_ms: entry.latencyMs ?? null,
    prev_hash: entry.prevHash,
    hash: entry.hash,
  };
}

/**
 * Converts a stored row back to an entry, leaving out the fields that are `null`. The `event`
 * and `outcome` columns are not checked against their allowed values, because the verifier
 * must hash exactly what is stored.
 */
export function rowToEntry(row: AuditEntryRow): AuditEntry {
  const entry: AuditEntry = {
    seq: row.seq,
    time: row.time,
    event: row.event as AuditEvent,
    outcome: row.outcome as AuditOutcome,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
  if (row.code !== null) entry.code = row.code;
  if (row.subject !== null) entry.subject = row.subject;
  if (row.session_id !== null) entry.sessionId = row.session_id;
  if (row.request_id !== null) entry.requestId = row.request_id;
  if (row.method !== null) entry.method = row.method;
  if (row.path !== null) entry.path = row.path;
  if (row.body_digest !== null) entry.bodyDigest = row.body_digest;
  if (row.client_address !== null) entry.clientAddress = row.client_address;
  if (row.service !== null) entry.service = row.service;
  if (row.upstream_status !== null) entry.upstreamStatus = row.upstream_status;
  if (row.latency_ms !== null) entry.latencyMs = row.latency_ms;
  return entry;
}

/** Converts a stored row of `audit_checkpoints` to a checkpoint. */
export function rowToCheckpoint(row: AuditCheckpointRow): AuditCheckpoint {
  return {
    seq: row.seq,
    hash: row.hash,
    keyId: row.key_id,
    signature: row.signature,
    createdAt: row.created_at,
    // The verifier rejects any other value, so a changed version cannot pass unnoticed.
    version: row.version as CheckpointVersion,
  };
}
