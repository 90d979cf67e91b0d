import type { KeyObject } from 'node:crypto';

import type pg from 'pg';

import { RampartError } from '../errors.js';
import { checkOut, postgresUnavailable } from '../postgres/pool.js';
import type { StoreLogger } from '../replay/replay-store.js';
import type { AuditEntry, AuditEntryInput, AuditLog } from './audit-entry.js';
import { normalizeAuditEntryInput } from './audit-entry.js';
import {
  assertEd25519Key,
  createCheckpoint,
  deriveAuditKeyId,
  type AuditCheckpoint,
} from './checkpoint.js';
import {
  checkpointPolicyFromOptions,
  checkpointTimerMs,
  isCheckpointDue,
  type CheckpointPolicy,
} from './checkpoint-policy.js';
import { computeEntryHash } from './entry-hash.js';
import { ENTRY_COLUMNS } from './postgres-trail.js';
import { entryToRow } from './sqlite-schema.js';

/** Options of `PostgresAuditLog`. */
export interface PostgresAuditLogOptions {
  /**
   * Pool of a database migrated with `rampart migrate`. The log never ends it, so a user
   * store may share it; the owner ends it after `close()`.
   */
  pool: pg.Pool;
  /** Ed25519 private key that signs checkpoints. Without it, no checkpoints are written. */
  signingKey?: KeyObject;
  /** Key id stored with each checkpoint. Needs `signingKey`. Default: `deriveAuditKeyId`. */
  keyId?: string;
  /** Number of entries after which a checkpoint is written. Default: 100. */
  checkpointEvery?: number;
  /** Maximum time in seconds an entry waits for a checkpoint. Default: no time limit. */
  checkpointIntervalSeconds?: number;
  /** Receives failures of timer checkpoints. Default: no logging. */
  logger?: StoreLogger;
}

/** Entries appended in one transaction at most; 100 rows use 1,700 query parameters. */
const MAX_BATCH = 100;

/** An append waiting for its transaction. */
interface PendingAppend {
  input: AuditEntryInput;
  resolve(entry: AuditEntry): void;
  reject(error: unknown): void;
}

/** The `audit_head` row, with bigint columns as pg returns them. */
interface HeadRow {
  seq: string;
  hash: string;
  checkpoint_seq: string;
  pending_since: Date | null;
}

/**
 * Audit log in PostgreSQL that several gateway instances append to as one hash chain.
 *
 * Appends run in transactions that lock the single `audit_head` row (`SELECT ... FOR
 * UPDATE`), compute the next `seq` and hash from it, insert the entries, and move the head.
 * The lock serializes appends from every instance, so the chain has no gaps or forks; a
 * crashed instance's transaction rolls back and releases the lock. Each instance runs one
 * append transaction at a time, and appends that arrive meanwhile share the next one, so a
 * burst costs one lock and one commit per batch rather than per entry. `append` resolves
 * after the `COMMIT` that contains its entry, so the entry is durable as far as the server's
 * `synchronous_commit` makes it.
 *
 * Checkpoints follow the same rules as the SQLite log and are written in the same
 * transaction as the entry that makes one due, or by a timer for the time limit.
 */
export class PostgresAuditLog implements AuditLog {
  readonly #pool: pg.Pool;
  readonly #signer: { privateKey: KeyObject; keyId: string } | undefined;
  readonly #policy: CheckpointPolicy;
  readonly #logger: StoreLogger | undefined;
  readonly #timer: NodeJS.Timeout | undefined;
  #timerFailure: string | undefined;
  #closed = false;
  readonly #queue: PendingAppend[] = [];
  /** The running flush, while there is one. */
  #flushing: Promise<void> | undefined;

  /** Throws a `TypeError` for an invalid option. Does not connect. */
  constructor(options: PostgresAuditLogOptions) {
    if (options.signingKey !== undefined) {
      assertEd25519Key(options.signingKey, 'private', 'signingKey');
      this.#signer = {
        privateKey: options.signingKey,
        keyId: options.keyId ?? deriveAuditKeyId(options.signingKey),
      };
    } else if (options.keyId !== undefined) {
      throw new TypeError(
        'Option "keyId" requires "signingKey". Set "signingKey" or remove "keyId".',
      );
    }
    this.#pool = options.pool;
    this.#policy = checkpointPolicyFromOptions(options);
    this.#logger = options.logger;

    const period = checkpointTimerMs(this.#policy);
    if (period !== undefined && this.#signer !== undefined) {
      this.#timer = setInterval(() => void this.#runTimer(), period);
      // The timer must not keep a process alive that has nothing else to do.
      this.#timer.unref();
    }
  }

  /**
   * Appends one entry and resolves after it is committed. Rejects with a `TypeError` naming
   * the field when `input` is invalid, and with `RampartError` `store_unavailable` (a
   * `StoreUnavailableError` as its `cause`) when the log is closed or the database fails.
   */
  async append(input: AuditEntryInput): Promise<AuditEntry> {
    const normalized = normalizeAuditEntryInput(input);
    this.#assertOpen();
    return new Promise((resolve, reject) => {
      this.#queue.push({ input: normalized, resolve, reject });
      this.#flushing ??= this.#flush();
    });
  }

  /**
   * Appends queued entries until the queue is empty, up to `MAX_BATCH` per transaction. Entries
   * that arrive while a transaction runs wait for the next one, so under load each lock of the
   * chain head and each commit covers many entries (group commit).
   */
  async #flush(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, MAX_BATCH);
        try {
          const entries = await this.#transaction('append', (client) =>
            this.#appendBatch(
              client,
              batch.map((pending) => pending.input),
            ),
          );
          batch.forEach((pending, index) => pending.resolve(entries[index] as AuditEntry));
        } catch (error) {
          for (const pending of batch) pending.reject(error);
        }
      }
    } finally {
      this.#flushing = undefined;
    }
  }

  /** Inserts `inputs` after the locked chain head, with the checkpoints that fall due. */
  async #appendBatch(client: pg.PoolClient, inputs: AuditEntryInput[]): Promise<AuditEntry[]> {
    const head = await lockHead(client);
    let checkpointSeq = Number(head.checkpoint_seq);
    let pendingSince = head.pending_since?.getTime();
    let previous = { seq: Number(head.seq), hash: head.hash };
    const entries: AuditEntry[] = [];
    const checkpoints: AuditCheckpoint[] = [];

    for (const input of inputs) {
      const now = new Date();
      const unhashed = {
        seq: previous.seq + 1,
        time: now.toISOString(),
        ...input,
        prevHash: previous.hash,
      };
      const entry: AuditEntry = { ...unhashed, hash: computeEntryHash(unhashed) };
      entries.push(entry);
      previous = entry;
      pendingSince ??= now.getTime();

      const state = { tailSeq: entry.seq, checkpointSeq, pendingSinceMs: pendingSince };
      if (this.#signer !== undefined && isCheckpointDue(this.#policy, state, now.getTime())) {
        checkpoints.push(createCheckpoint(entry.seq, entry.hash, this.#signer, now));
        checkpointSeq = entry.seq;
        pendingSince = undefined;
      }
    }

    await insertEntries(client, entries);
    await insertCheckpoints(client, checkpoints);
    await client.query(
      'UPDATE audit_head SET seq = $1, hash = $2, checkpoint_seq = $3, pending_since = $4',
      [
        previous.seq,
        previous.hash,
        checkpointSeq,
        pendingSince === undefined ? null : new Date(pendingSince),
      ],
    );
    return entries;
  }

  /** Runs `SELECT 1`. Rejects with `RampartError` `store_unavailable` when that fails. */
  async ping(): Promise<void> {
    this.#assertOpen();
    try {
      await this.#pool.query('SELECT 1 FROM audit_head');
    } catch (error) {
      throw storeUnavailable(postgresUnavailable(error, 'ping'));
    }
  }

  /**
   * Stops the checkpoint timer and writes a final checkpoint when a signing key is set and
   * entries follow the last checkpoint. A second call does nothing. Rejects with `RampartError`
   * `store_unavailable` when the checkpoint cannot be written. The pool stays open.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    // Appends accepted before close still commit, and the final checkpoint covers them.
    await this.#flushing;
    if (this.#signer === undefined) return;
    await this.#transaction('final checkpoint', async (client) => {
      const head = await lockHead(client);
      if (Number(head.seq) > Number(head.checkpoint_seq)) {
        await this.#insertCheckpoint(client, Number(head.seq), head.hash);
      }
    });
  }

  /** Writes a checkpoint when the time limit has passed. */
  async #runTimer(): Promise<void> {
    if (this.#closed || this.#signer === undefined) return;
    try {
      // A read without the lock first, so idle instances do not queue on the head row.
      const peek = await this.#pool.query<HeadRow>(
        'SELECT seq, hash, checkpoint_seq, pending_since FROM audit_head',
      );
      this.#timerFailure = undefined;
      const current = peek.rows[0];
      const peekState = {
        tailSeq: Number(current?.seq ?? 0),
        checkpointSeq: Number(current?.checkpoint_seq ?? 0),
        pendingSinceMs: current?.pending_since?.getTime(),
      };
      if (!isCheckpointDue(this.#policy, peekState, Date.now())) return;

      await this.#transaction('timer checkpoint', async (client) => {
        const head = await lockHead(client);
        const state = {
          tailSeq: Number(head.seq),
          checkpointSeq: Number(head.checkpoint_seq),
          pendingSinceMs: head.pending_since?.getTime(),
        };
        if (isCheckpointDue(this.#policy, state, Date.now())) {
          await this.#insertCheckpoint(client, state.tailSeq, head.hash);
        }
      });
    } catch (error) {
      // Logged once per distinct failure; the next tick or append retries.
      const message = (error as Error).message;
      if (message === this.#timerFailure) return;
      this.#timerFailure = message;
      this.#logger?.error({ store: 'postgres', err: error }, 'audit checkpoint timer failed');
    }
  }

  /** Inserts a checkpoint for (`seq`, `hash`) and moves the head to it. */
  async #insertCheckpoint(client: pg.PoolClient, seq: number, hash: string): Promise<void> {
    if (this.#signer === undefined) return;
    await insertCheckpoints(client, [createCheckpoint(seq, hash, this.#signer)]);
    await client.query(
      'UPDATE audit_head SET seq = $1, hash = $2, checkpoint_seq = $1, pending_since = NULL',
      [seq, hash],
    );
  }

  /**
   * Runs `work` in a transaction on one pooled connection. Any failure rolls back, drops the
   * connection (it may be broken) and rejects with `store_unavailable`.
   */
  async #transaction<T>(action: string, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let connection: Awaited<ReturnType<typeof checkOut>>;
    try {
      connection = await checkOut(this.#pool);
    } catch (error) {
      throw storeUnavailable(postgresUnavailable(error, `audit ${action}`));
    }

    const { client } = connection;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      connection.release();
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      connection.release(true);
      throw storeUnavailable(postgresUnavailable(error, `audit ${action}`));
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw storeUnavailable(new Error('The audit log is closed.'));
  }
}

async function lockHead(client: pg.PoolClient): Promise<HeadRow> {
  const result = await client.query<HeadRow>(
    'SELECT seq, hash, checkpoint_seq, pending_since FROM audit_head FOR UPDATE',
  );
  const head = result.rows[0];
  if (head === undefined) {
    throw new Error('The audit_head row is missing; run "rampart migrate" on a new database.');
  }
  return head;
}

/** Inserts entries with one multi-row INSERT. */
async function insertEntries(client: pg.PoolClient, entries: AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const values: unknown[] = [];
  const rows = entries.map((entry) => {
    const row = entryToRow(entry);
    const first = values.length + 1;
    values.push(
      row.seq,
      row.time,
      row.event,
      row.outcome,
      row.code,
      row.subject,
      row.session_id,
      row.request_id,
      row.method,
      row.path,
      row.body_digest,
      row.client_address,
      row.service,
      row.upstream_status,
      row.latency_ms,
      row.prev_hash,
      row.hash,
    );
    return `(${Array.from({ length: 17 }, (_, index) => `$${first + index}`).join(', ')})`;
  });
  await client.query(
    `INSERT INTO audit_entries (${ENTRY_COLUMNS}) VALUES ${rows.join(', ')}`,
    values,
  );
}

/** Inserts checkpoints with one multi-row INSERT. */
async function insertCheckpoints(
  client: pg.PoolClient,
  checkpoints: AuditCheckpoint[],
): Promise<void> {
  if (checkpoints.length === 0) return;
  const values: unknown[] = [];
  const rows = checkpoints.map((checkpoint) => {
    const first = values.length + 1;
    values.push(
      checkpoint.seq,
      checkpoint.hash,
      checkpoint.keyId,
      checkpoint.signature,
      checkpoint.createdAt,
      checkpoint.version,
    );
    return `(${Array.from({ length: 6 }, (_, index) => `$${first + index}`).join(', ')})`;
  });
  await client.query(
    `INSERT INTO audit_checkpoints (seq, hash, key_id, signature, created_at, version)
     VALUES ${rows.join(', ')}`,
    values,
  );
}

/** Wraps a storage failure in `store_unavailable`, which the gateway sends as a 503 response. */
function storeUnavailable(cause: unknown): RampartError {
  const error = new RampartError('store_unavailable');
  error.cause = cause;
  return error;
}
