import type { KeyObject } from 'node:crypto';
import { closeSync, existsSync, fstat, fstatSync, fsync, fsyncSync, openSync } from 'node:fs';

import Database from 'better-sqlite3';

import { RampartError } from '../errors.js';
import type { AuditEntry, AuditEntryInput, AuditLog } from './audit-entry.js';
import { normalizeAuditEntryInput } from './audit-entry.js';
import { assertEd25519Key, createCheckpoint, deriveAuditKeyId } from './checkpoint.js';
import {
  checkpointPolicyFromOptions,
  checkpointTimerMs,
  isCheckpointDue,
  type CheckpointPolicy,
} from './checkpoint-policy.js';
import { computeEntryHash, GENESIS_HASH } from './entry-hash.js';
import { AUDIT_SCHEMA_SQL, entryToRow, upgradeCheckpointTable } from './sqlite-schema.js';

/** Options of `SqliteAuditLog`. */
export interface SqliteAuditLogOptions {
  /** Path of the SQLite file. A missing file is created with its tables. */
  file: string;
  /** Ed25519 private key that signs checkpoints. Without it, no checkpoints are written. */
  signingKey?: KeyObject;
  /**
   * Key id stored with each checkpoint. Needs `signingKey`. Default: the first 16 hex digits
   * of the SHA-256 of the public key in SPKI DER form (`deriveAuditKeyId`).
   */
  keyId?: string;
  /** Number of entries after which a checkpoint is written. Default: 100. */
  checkpointEvery?: number;
  /**
   * Maximum time in seconds an entry waits for a checkpoint. Once the oldest entry after the
   * last checkpoint is this old, the next append or a timer writes one. Default: no time limit.
   */
  checkpointIntervalSeconds?: number;
}

/**
 * Audit log in one SQLite file (WAL mode). `append` resolves once its entry is committed and
 * the WAL file is fsynced, so the entry survives a power loss as well as a crash.
 *
 * Appends that arrive in the same turn of the event loop are committed together (group
 * commit). better-sqlite3 runs the commit synchronously, but with `synchronous=NORMAL` it does
 * not fsync. The fsync of the WAL file runs in libuv's thread pool instead, one at a time, so it
 * no longer blocks the event loop, and one fsync covers every batch committed before it began.
 * Each append reads the chain tail inside a `BEGIN IMMEDIATE` transaction, which holds the
 * write lock, so several processes sharing the file still build one gap-free chain.
 *
 * With a `signingKey`, a signed checkpoint is written in the same transaction as the entry
 * that makes one due: `checkpointEvery` entries follow the last checkpoint, or the oldest of
 * them is `checkpointIntervalSeconds` old. A timer writes it when that age passes without an
 * append, and `close()` writes one when any entry follows the last checkpoint.
 */
export class SqliteAuditLog implements AuditLog {
  readonly #db: Database.Database;
  readonly #signingKey: KeyObject | undefined;
  readonly #keyId: string | undefined;
  readonly #policy: CheckpointPolicy;
  readonly #timer: NodeJS.Timeout | undefined;
  readonly #statements: ReturnType<typeof prepareStatements>;
  readonly #appendTransaction: Database.Transaction<(inputs: AuditEntryInput[]) => AuditEntry[]>;
  // Appends waiting for the next group commit, in arrival order.
  #queue: QueuedAppend[] = [];
  #flushScheduled = false;
  // Committed batches whose WAL fsync has not started, and the fsync that is running.
  #awaitingSync: Array<{ batch: QueuedAppend[]; entries: AuditEntry[] }> = [];
  #syncRunning: Promise<void> | undefined;
  readonly #walPath: string;
  #walDescriptor: number | undefined;
  readonly #closeTransaction: Database.Transaction<() => void>;
  readonly #timerTransaction: Database.Transaction<() => void>;
  #closed = false;

  /**
   * Opens or creates the log file and continues its chain. Throws a `TypeError` for an invalid
   * option and an `Error` naming the file when SQLite cannot open it.
   */
  constructor(options: SqliteAuditLogOptions) {
    validateOptions(options);
    this.#signingKey = options.signingKey;
    this.#keyId =
      options.signingKey === undefined
        ? undefined
        : (options.keyId ?? deriveAuditKeyId(options.signingKey));
    this.#policy = checkpointPolicyFromOptions(options);

    this.#db = openDatabase(options.file);
    this.#walPath = `${options.file}-wal`;
    this.#statements = prepareStatements(this.#db);
    this.#appendTransaction = this.#db.transaction((inputs: AuditEntryInput[]) =>
      this.#appendEntries(inputs),
    );
    this.#closeTransaction = this.#db.transaction(() => this.#checkpointTail());
    this.#timerTransaction = this.#db.transaction(() => this.#checkpointIfDue());

    const period = checkpointTimerMs(this.#policy);
    if (period !== undefined && this.#signingKey !== undefined) {
      this.#timer = setInterval(() => this.#runTimer(), period);
      // The timer must not keep a process alive that has nothing else to do.
      this.#timer.unref();
    }
  }

  /**
   * Appends one entry and resolves after it is committed. Rejects with a `TypeError` naming
   * the field when `input` is invalid, and with `RampartError` `store_unavailable` (the
   * SQLite error as its `cause`) when the log is closed or the write fails.
   */
  async append(input: AuditEntryInput): Promise<AuditEntry> {
    const normalized = normalizeAuditEntryInput(input);
    this.#assertOpen();
    return new Promise((resolve, reject) => {
      this.#queue.push({ input: normalized, resolve, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  // Group commit: every append that arrived during one turn of the event loop goes into one
  // transaction, so one WAL fsync covers them all. Each promise still resolves only after the
  // commit that contains its entry; with one append per turn this is the same as before.
  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#queue.splice(0, MAX_BATCH_ENTRIES);
    if (this.#queue.length > 0) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
    if (batch.length === 0) return;

    let entries: AuditEntry[];
    try {
      this.#assertOpen();
      entries = this.#appendTransaction.immediate(batch.map((item) => item.input));
    } catch (error) {
      const failure = error instanceof RampartError ? error : storeUnavailable(error);
      for (const item of batch) item.reject(failure);
      return;
    }
    this.#awaitingSync.push({ batch, entries });
    this.#startSync();
  }

  // Starts one fsync of the WAL file for every batch committed so far, unless one is already
  // running. When that one ends, the next covers the batches committed meanwhile.
  #startSync(): void {
    if (this.#syncRunning !== undefined || this.#awaitingSync.length === 0) return;
    const covered = this.#awaitingSync;
    this.#awaitingSync = [];
    this.#syncRunning = this.#syncWal()
      .then(
        () => {
          for (const { batch, entries } of covered)
            batch.forEach((item, index) => item.resolve(entries[index] as AuditEntry));
        },
        (error: unknown) => {
          // NOTE: after a failed fsync the entries are committed but may not be on disk. Each
          // caller gets store_unavailable and must treat its request as not recorded.
          const failure = storeUnavailable(error);
          for (const { batch } of covered) for (const item of batch) item.reject(failure);
        },
      )
      .finally(() => {
        this.#syncRunning = undefined;
        this.#startSync();
      });
  }

  #syncWal(): Promise<void> {
    return new Promise((resolve, reject) => {
      let descriptor: number;
      try {
        // The WAL file exists once the first transaction has been committed.
        descriptor = this.#openWal();
      } catch (error) {
        reject(error);
        return;
      }
      fsync(descriptor, (error) => {
        if (error !== null) {
          reject(error);
          return;
        }
        // A WAL file removed while open takes every later entry with it when the process
        // ends, so the log fails closed instead of reporting them as stored.
        fstat(descriptor, (statError, stats) => {
          if (statError !== null) reject(statError);
          else if (stats.nlink === 0) reject(this.#walRemovedError());
          else resolve();
        });
      });
    });
  }

  /** Returns the descriptor of the WAL file, opening it on first use. */
  #openWal(): number {
    // Opened for writing because Windows cannot flush a read-only handle.
    this.#walDescriptor ??= openSync(this.#walPath, 'r+');
    return this.#walDescriptor;
  }

  #walRemovedError(): Error {
    return new Error(`${this.#walPath} was removed while open`);
  }

  /** Reads the chain tail. Rejects with `RampartError` `store_unavailable` when that fails. */
  async ping(): Promise<void> {
    this.#assertOpen();
    try {
      this.#statements.selectTail.get();
      if (this.#walDescriptor !== undefined && fstatSync(this.#walDescriptor).nlink === 0)
        throw this.#walRemovedError();
    } catch (error) {
      throw storeUnavailable(error);
    }
  }

  /**
   * Writes a final checkpoint when a signing key is set and entries follow the last
   * checkpoint, then closes the file. A second call does nothing. Rejects with `RampartError`
   * `store_unavailable` when the checkpoint cannot be written, and the file is closed anyway.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    // Appends already accepted are committed and synced before the file closes.
    while (this.#queue.length > 0) this.#flush();
    this.#closed = true;
    clearInterval(this.#timer);
    while (this.#syncRunning !== undefined) await this.#syncRunning;
    try {
      if (this.#signingKey !== undefined) {
        this.#closeTransaction.immediate();
        // SQLite syncs the WAL on close only when no other connection has the file open, so
        // the final checkpoint is synced here. Without a WAL file there is nothing to sync.
        if (this.#walDescriptor !== undefined || existsSync(this.#walPath))
          fsyncSync(this.#openWal());
      }
    } catch (error) {
      throw storeUnavailable(error);
    } finally {
      this.#db.close();
      if (this.#walDescriptor !== undefined) closeSync(this.#walDescriptor);
    }
  }

  /**
   * Inserts the entries in order, and a checkpoint after each one that makes one due. Runs
   * inside a `BEGIN IMMEDIATE` transaction, whose write lock keeps other writers from moving
   * the chain tail or the last checkpoint, so both are read once per batch and then tracked here.
   */
  #appendEntries(inputs: AuditEntryInput[]): AuditEntry[] {
    let tail = this.#statements.selectTail.get() as ChainTail | undefined;
    const signing = this.#signingKey !== undefined;
    let checkpointSeq = signing ? (this.#statements.selectLastCheckpointSeq.get() as number) : 0;
    let pendingSinceMs = signing ? this.#pendingSince(checkpointSeq) : undefined;

    const entries: AuditEntry[] = [];
    for (const input of inputs) {
      const unhashed = {
        seq: (tail?.seq ?? 0) + 1,
        time: new Date().toISOString(),
        ...input,
        prevHash: tail?.hash ?? GENESIS_HASH,
      };
      const entry: AuditEntry = { ...unhashed, hash: computeEntryHash(unhashed) };
      this.#statements.insertEntry.run(entryToRow(entry));
      entries.push(entry);
      tail = { seq: entry.seq, hash: entry.hash };

      if (!signing) continue;
      // The first entry after the last checkpoint starts the time limit.
      if (pendingSinceMs === undefined && this.#policy.intervalSeconds !== undefined) {
        pendingSinceMs = Date.parse(entry.time);
      }
      const state = { tailSeq: entry.seq, checkpointSeq, pendingSinceMs };
      if (isCheckpointDue(this.#policy, state, Date.now())) {
        this.#insertCheckpoint(entry.seq, entry.hash);
        checkpointSeq = entry.seq;
        pendingSinceMs = undefined;
      }
    }
    return entries;
  }

  /** Writes a checkpoint when the time limit has passed. Runs inside a transaction. */
  #checkpointIfDue(): void {
    const tail = this.#statements.selectTail.get() as ChainTail | undefined;
    if (tail === undefined) return;

    const checkpointSeq = this.#statements.selectLastCheckpointSeq.get() as number;
    const state = {
      tailSeq: tail.seq,
      checkpointSeq,
      pendingSinceMs: this.#pendingSince(checkpointSeq),
    };
    if (isCheckpointDue(this.#policy, state, Date.now())) {
      this.#insertCheckpoint(tail.seq, tail.hash);
    }
  }

  /** Time of the first entry after the checkpoint at `checkpointSeq`, when a time limit is set. */
  #pendingSince(checkpointSeq: number): number | undefined {
    if (this.#policy.intervalSeconds === undefined) return undefined;
    const time = this.#statements.selectEntryTime.get(checkpointSeq + 1) as string | undefined;
    return time === undefined ? undefined : Date.parse(time);
  }

  #runTimer(): void {
    if (this.#closed) return;
    try {
      this.#timerTransaction.immediate();
      // A checkpoint written here has no append waiting on it, so its own fsync starts now.
      this.#awaitingSync.push({ batch: [], entries: [] });
      this.#startSync();
    } catch {
      // NOTE: a failed timer checkpoint is retried on the next tick or append; this store has
      // no logger to report it to.
    }
  }

  /** Inserts a checkpoint for the chain tail unless one exists. Runs inside a transaction. */
  #checkpointTail(): void {
    const tail = this.#statements.selectTail.get() as ChainTail | undefined;
    if (tail === undefined) return;

    const lastCheckpointSeq = this.#statements.selectLastCheckpointSeq.get() as number;
    if (tail.seq > lastCheckpointSeq) this.#insertCheckpoint(tail.seq, tail.hash);
  }

  #insertCheckpoint(seq: number, hash: string): void {
    if (this.#signingKey === undefined || this.#keyId === undefined) return;
    const checkpoint = createCheckpoint(seq, hash, {
      privateKey: this.#signingKey,
      keyId: this.#keyId,
    });
    this.#statements.insertCheckpoint.run({
      seq,
      hash,
      key_id: checkpoint.keyId,
      signature: checkpoint.signature,
      created_at: checkpoint.createdAt,
      version: checkpoint.version,
    });
  }

  #assertOpen(): void {
    if (this.#closed) throw storeUnavailable(new Error('The audit log is closed.'));
  }
}

/** Most entries one group commit writes; a longer queue is written in several. */
const MAX_BATCH_ENTRIES = 256;

/** An append waiting for its group commit and fsync. */
interface QueuedAppend {
  input: AuditEntryInput;
  resolve: (entry: AuditEntry) => void;
  reject: (error: unknown) => void;
}

/** Sequence number and hash of the last entry. */
interface ChainTail {
  seq: number;
  hash: string;
}

function validateOptions(options: SqliteAuditLogOptions): void {
  if (typeof options.file !== 'string' || options.file === '') {
    throw new TypeError(
      `Option "file" must be a non-empty path string; received ${describe(options.file)}.`,
    );
  }

  if (options.signingKey !== undefined) {
    assertEd25519Key(options.signingKey, 'private', 'signingKey');
  }

  if (options.keyId !== undefined) {
    if (typeof options.keyId !== 'string' || options.keyId === '') {
      throw new TypeError(
        `Option "keyId" must be a non-empty string; received ${describe(options.keyId)}.`,
      );
    }
    if (options.signingKey === undefined) {
      throw new TypeError(
        'Option "keyId" requires "signingKey". Set "signingKey" or remove "keyId".',
      );
    }
  }

  checkpointPolicyFromOptions(options);
}

function describe(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (value === '') return 'an empty string';
  return typeof value;
}

/** Opens the file in WAL mode with `synchronous=NORMAL` and creates the tables if needed. */
function openDatabase(file: string): Database.Database {
  let db: Database.Database;
  try {
    // Entries name sessions and client addresses, so a new file is readable by its owner only.
    // SQLite gives the WAL and shared-memory files the same mode.
    closeSync(openSync(file, 'a', 0o600));
    db = new Database(file);
  } catch (error) {
    throw new Error(`Failed to open the audit log ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }

  try {
    // In WAL mode, synchronous=NORMAL writes the WAL at every commit but fsyncs it only
    // before a WAL checkpoint, so a commit costs no fsync on the event loop. The log fsyncs
    // the WAL itself, off the event loop, before an append resolves.
    const journalMode: unknown = db.pragma('journal_mode = WAL', { simple: true });
    if (journalMode !== 'wal') {
      throw new Error(
        `Failed to enable WAL mode for the audit log ${file}: SQLite reports journal mode ${String(journalMode)}.`,
      );
    }
    db.pragma('synchronous = NORMAL');
    db.exec(AUDIT_SCHEMA_SQL);
    upgradeCheckpointTable(db);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

function prepareStatements(db: Database.Database) {
  return {
    selectTail: db.prepare('SELECT seq, hash FROM audit_entries ORDER BY seq DESC LIMIT 1'),
    selectLastCheckpointSeq: db
      .prepare('SELECT coalesce(max(seq), 0) FROM audit_checkpoints')
      .pluck(),
    selectEntryTime: db.prepare('SELECT time FROM audit_entries WHERE seq = ?').pluck(),
    insertEntry: db.prepare(
      `INSERT INTO audit_entries (
        seq, time, event, outcome, code, subject, session_id, request_id, method, path,
        body_digest, client_address, service, upstream_status, latency_ms, prev_hash, hash
      ) VALUES (
        @seq, @time, @event, @outcome, @code, @subject, @session_id, @request_id, @method, @path,
        @body_digest, @client_address, @service, @upstream_status, @latency_ms, @prev_hash, @hash
      )`,
    ),
    insertCheckpoint: db.prepare(
      `INSERT INTO audit_checkpoints (seq, hash, key_id, signature, created_at, version)
       VALUES (@seq, @hash, @key_id, @signature, @created_at, @version)`,
    ),
  };
}

/** Wraps a storage failure in `store_unavailable`, which the gateway sends as a 503 response. */
function storeUnavailable(cause: unknown): RampartError {
  const error = new RampartError('store_unavailable');
  error.cause = cause;
  return error;
}
