import type pg from 'pg';

import { checkOut } from '../postgres/pool.js';

import type { AuditEntry } from './audit-entry.js';
import type { ChainHead } from './chain-verifier.js';
import type { AuditCheckpointRow, AuditEntryRow } from './sqlite-schema.js';
import { rowToCheckpoint, rowToEntry } from './sqlite-schema.js';
import type { StoredTrail } from './sqlite-trail.js';

/** A PostgreSQL trail opened for reading, with the chain head row. */
export interface PostgresTrail extends StoredTrail<AsyncIterable<AuditEntry>> {
  head: ChainHead;
}

/** Entries read per query while walking the trail. */
const PAGE_SIZE = 1000;

/** Columns of one entry, in the order the SQLite store uses. */
export const ENTRY_COLUMNS = `seq, time, event, outcome, code, subject, session_id, request_id,
  method, path, body_digest, client_address, service, upstream_status, latency_ms, prev_hash, hash`;

/**
 * Calls `read` with the audit trail of a PostgreSQL database, inside one `REPEATABLE READ READ
 * ONLY` transaction: every page of entries comes from the same snapshot, so gateways may
 * append while `read` runs. Entries are read in pages of 1000 by `seq`, so memory stays
 * bounded for any length of trail.
 *
 * Rejects with an `Error` when the database cannot be read or has no audit tables.
 */
export async function readPostgresTrail<T>(
  pool: pg.Pool,
  read: (trail: PostgresTrail) => Promise<T>,
): Promise<T> {
  const connection = await checkOut(pool);
  const { client } = connection;
  let broken = false;
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const trail = await loadTrail(client);
    const result = await read(trail);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    broken = true;
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    connection.release(broken);
  }
}

async function loadTrail(client: pg.PoolClient): Promise<PostgresTrail> {
  const tables = await client.query<{ audit_head: string | null }>(
    "SELECT to_regclass('audit_head')::text AS audit_head",
  );
  if (tables.rows[0]?.audit_head === null) {
    throw new Error('The database has no audit tables; run "rampart migrate" first.');
  }

  const head = await client.query<{ seq: string; hash: string }>(
    'SELECT seq, hash FROM audit_head',
  );
  const headRow = head.rows[0];
  if (headRow === undefined) throw new Error('The audit_head row is missing.');

  const checkpoints = await client.query<Omit<AuditCheckpointRow, 'seq'> & { seq: string }>(
    'SELECT seq, hash, key_id, signature, created_at, version FROM audit_checkpoints ORDER BY seq',
  );

  return {
    head: { seq: Number(headRow.seq), hash: headRow.hash },
    checkpoints: checkpoints.rows.map((row) => rowToCheckpoint({ ...row, seq: Number(row.seq) })),
    entries: pageEntries(client),
  };
}

async function* pageEntries(client: pg.PoolClient): AsyncIterable<AuditEntry> {
  // Starting below zero lets the verifier see, and name, a row whose seq was set to 0 or less.
  let after = Number.MIN_SAFE_INTEGER;
  for (;;) {
    const page = await client.query<Omit<AuditEntryRow, 'seq'> & { seq: string }>(
      `SELECT ${ENTRY_COLUMNS} FROM audit_entries WHERE seq > $1 ORDER BY seq LIMIT ${PAGE_SIZE}`,
      [after],
    );
    for (const row of page.rows) yield rowToEntry({ ...row, seq: Number(row.seq) });
    const last = page.rows.at(-1);
    if (last === undefined || page.rows.length < PAGE_SIZE) return;
    after = Number(last.seq);
  }
}
