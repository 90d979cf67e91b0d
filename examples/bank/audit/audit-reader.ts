import { existsSync } from 'node:fs';

import Database from 'better-sqlite3';
import type { FastifyBaseLogger } from 'fastify';

import type { AuditEntryRow } from '../../../src/audit/sqlite-schema.js';
import { RampartError } from '../../../src/errors.js';

/** An audit entry as the auditor view lists it: who, what, when, the decision and its reason. */
export interface AuditEntryView {
  seq: number;
  time: string;
  event: string;
  outcome: string;
  /** Reason code of a rejection or failure, such as `nonce_replayed`. */
  code?: string;
  subject?: string;
  sessionId?: string;
  requestId?: string;
  method?: string;
  path?: string;
  service?: string;
  clientAddress?: string;
  upstreamStatus?: number;
}

/** Allowed and rejected API calls in one time bucket. */
export interface ActivityBucket {
  /** Start of the bucket, ISO 8601 in UTC. */
  start: string;
  allowed: number;
  rejected: number;
}

// The columns the view reads, typed by the audit log's own row type.
type EntryRow = Pick<
  AuditEntryRow,
  | 'seq'
  | 'time'
  | 'event'
  | 'outcome'
  | 'code'
  | 'subject'
  | 'session_id'
  | 'request_id'
  | 'method'
  | 'path'
  | 'service'
  | 'client_address'
  | 'upstream_status'
>;

const BUCKET_MS = 60_000;

/**
 * Reads the gateway's SQLite audit log through a read-only connection opened for each call, so
 * the reader never holds a lock the gateway needs and never writes to the file.
 */
export class AuditReader {
  readonly #file: string;
  readonly #logger: FastifyBaseLogger | undefined;

  /** Reads `file`; read failures are logged to `logger` when one is given. */
  constructor(file: string, logger?: FastifyBaseLogger) {
    this.#file = file;
    this.#logger = logger;
  }

  /** Path of the audit log file. */
  get file(): string {
    return this.#file;
  }

  /**
   * Returns the latest `limit` entries, newest first.
   *
   * @throws RampartError `store_unavailable` when the file is missing or cannot be read.
   */
  recentEntries(limit: number): AuditEntryView[] {
    return this.#read((db) => {
      const rows = db
        .prepare(
          `SELECT seq, time, event, outcome, code, subject, session_id, request_id, method, path,
             service, client_address, upstream_status
           FROM audit_entries ORDER BY seq DESC LIMIT ?`,
        )
        .all(limit) as EntryRow[];
      return rows.map(toView);
    });
  }

  /**
   * Counts allowed and rejected API calls (`request` events) per minute over the `minutes`
   * minutes before `now`, oldest bucket first, with a bucket for every minute.
   *
   * NOTE: the query scans every entry in the window, because the log has no index on `time`.
   *
   * @throws RampartError `store_unavailable` when the file is missing or cannot be read.
   */
  activity(minutes: number, now: number): ActivityBucket[] {
    const end = Math.floor(now / BUCKET_MS) * BUCKET_MS + BUCKET_MS;
    const start = end - minutes * BUCKET_MS;
    const buckets: ActivityBucket[] = [];
    for (let time = start; time < end; time += BUCKET_MS) {
      buckets.push({ start: new Date(time).toISOString(), allowed: 0, rejected: 0 });
    }

    const rows = this.#read(
      (db) =>
        db
          .prepare(
            // Entry times are ISO 8601 in UTC with milliseconds, so text order is time order and
            // the first 16 characters name the minute.
            `SELECT substr(time, 1, 16) AS minute, outcome, COUNT(*) AS count
             FROM audit_entries
             WHERE event = 'request' AND time >= ? AND outcome IN ('allowed', 'rejected')
             GROUP BY minute, outcome`,
          )
          .all(new Date(start).toISOString()) as Array<{
          minute: string;
          outcome: 'allowed' | 'rejected';
          count: number;
        }>,
    );
    for (const row of rows) {
      const index = Math.floor((Date.parse(`${row.minute}:00.000Z`) - start) / BUCKET_MS);
      const bucket = buckets[index];
      if (bucket !== undefined) bucket[row.outcome] += row.count;
    }
    return buckets;
  }

  #read<T>(query: (db: Database.Database) => T): T {
    if (!existsSync(this.#file)) {
      this.#logger?.error({ file: this.#file }, 'audit log file not found');
      throw new RampartError('store_unavailable');
    }
    let db: Database.Database | undefined;
    try {
      db = new Database(this.#file, { readonly: true, fileMustExist: true });
      return query(db);
    } catch (error) {
      this.#logger?.error({ err: error, file: this.#file }, 'audit log read failed');
      throw new RampartError('store_unavailable');
    } finally {
      db?.close();
    }
  }
}

function toView(row: EntryRow): AuditEntryView {
  const view: AuditEntryView = {
    seq: row.seq,
    time: row.time,
    event: row.event,
    outcome: row.outcome,
  };
  if (row.code !== null) view.code = row.code;
  if (row.subject !== null) view.subject = row.subject;
  if (row.session_id !== null) view.sessionId = row.session_id;
  if (row.request_id !== null) view.requestId = row.request_id;
  if (row.method !== null) view.method = row.method;
  if (row.path !== null) view.path = row.path;
  if (row.service !== null) view.service = row.service;
  if (row.client_address !== null) view.clientAddress = row.client_address;
  if (row.upstream_status !== null) view.upstreamStatus = row.upstream_status;
  return view;
}
