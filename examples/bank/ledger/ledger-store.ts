import { createHash, randomUUID } from 'node:crypto';

import Database from 'better-sqlite3';

import { RampartError } from '../../../src/errors.js';
import { formatMinor } from './money.js';
import { LEDGER_SCHEMA_SQL } from './ledger-schema.js';

/** An account the ledger holds, and the balance it opens with. */
export interface LedgerAccountSeed {
  id: string;
  currency: string;
  /** Opening balance in minor units, funded from the funding account. Default 0. */
  openingMinor?: number;
}

/** Options of {@link LedgerStore}. */
export interface LedgerStoreOptions {
  /** Path of the SQLite file. A missing file is created with its tables. */
  file: string;
  /** Accounts to create when absent. Their opening balances are posted once. */
  accounts: readonly LedgerAccountSeed[];
  /** The system account that funds opening balances; the only account allowed below zero. */
  fundingAccount: { id: string; currency: string };
}

/** A transfer to post. */
export interface TransferInput {
  fromAccount: string;
  toAccount: string;
  /** Positive amount in minor units. */
  amountMinor: number;
  reference?: string;
}

/** A posted transfer, as the ledger returns it. */
export interface TransferRecord {
  transferId: string;
  fromAccount: string;
  toAccount: string;
  amount: string;
  currency: string;
  reference?: string;
  postedAt: string;
}

/** One transfer as seen from one account: a debit has a negative amount. */
export interface AccountTransaction {
  transferId: string;
  /** Signed decimal amount, such as `-25.00` for money that left the account. */
  amount: string;
  currency: string;
  /** The other account of the transfer. */
  counterparty: string;
  reference?: string;
  postedAt: string;
}

/** The outcome of {@link LedgerStore.postTransfer}. */
export interface TransferOutcome {
  status: number;
  body: TransferRecord;
  /** True when an earlier call with the same idempotency key produced this result. */
  replayed: boolean;
}

interface AccountRow {
  id: string;
  currency: string;
  allow_negative: number;
}

interface HistoryRow {
  transfer_id: string;
  amount_minor: number;
  currency: string;
  from_account: string;
  to_account: string;
  reference: string | null;
  posted_at: string;
}

interface StoredResultRow {
  request_hash: string;
  status: number;
  response: string;
}

/**
 * Double-entry ledger in one SQLite file (WAL mode, `synchronous=FULL`). Each transfer writes
 * two postings, a debit of the source and a credit of the destination, that sum to zero, and
 * a balance is the sum of an account's postings. Amounts are integer minor units.
 *
 * Each transfer runs in one `BEGIN IMMEDIATE` transaction, which holds the write lock from the
 * idempotency lookup to the commit. So a balance check and its postings can never interleave
 * with another transfer, even from another process sharing the file, and a rejected transfer
 * writes nothing.
 *
 * NOTE: stored idempotency results never expire, so their table grows with every transfer.
 */
export class LedgerStore {
  readonly #db: Database.Database;
  readonly #statements: ReturnType<typeof prepareStatements>;
  readonly #postTransfer: Database.Transaction<
    (scope: string, key: string, input: TransferInput) => TransferOutcome
  >;

  /** Opens or creates the ledger file and posts any opening balance not yet posted. */
  constructor(options: LedgerStoreOptions) {
    this.#db = new Database(options.file);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = FULL');
    this.#db.pragma('foreign_keys = ON');
    this.#db.exec(LEDGER_SCHEMA_SQL);
    this.#statements = prepareStatements(this.#db);
    this.#postTransfer = this.#db.transaction((scope, key, input) =>
      this.#postTransferLocked(scope, key, input),
    );
    this.#db.transaction(() => this.#seed(options)).immediate();
  }

  /** Returns the balance of `accountId` in minor units, or undefined for an unknown account. */
  balance(accountId: string): { balanceMinor: bigint; currency: string } | undefined {
    const account = this.#statements.account.get(accountId) as AccountRow | undefined;
    if (account === undefined) return undefined;
    return { balanceMinor: this.#balanceMinor(accountId), currency: account.currency };
  }

  /**
   * Returns the latest `limit` transfers that touched `accountId`, newest first, or undefined for
   * an unknown account.
   */
  history(accountId: string, limit: number): AccountTransaction[] | undefined {
    if (this.#statements.account.get(accountId) === undefined) return undefined;
    const rows = this.#statements.history.all(accountId, limit) as HistoryRow[];
    return rows.map((row) => ({
      transferId: row.transfer_id,
      amount: formatMinor(row.amount_minor),
      currency: row.currency,
      counterparty: row.amount_minor < 0 ? row.to_account : row.from_account,
      ...(row.reference === null ? {} : { reference: row.reference }),
      postedAt: row.posted_at,
    }));
  }

  /**
   * Posts a transfer once per idempotency key. The same key with the same transfer returns the
   * stored result with `replayed: true`. Nothing is stored for a rejected transfer, so a retry
   * after a rejection is evaluated again.
   *
   * @param scope the calling service, so that two callers' keys never collide.
   * @throws RampartError `idempotency_key_conflict` (same key, different transfer),
   *   `account_not_found`, `request_malformed` (currencies differ) or `insufficient_funds`.
   */
  postTransfer(scope: string, key: string, input: TransferInput): TransferOutcome {
    return this.#postTransfer.immediate(scope, key, input);
  }

  /** Returns the number of postings and their sum, which is zero in a consistent ledger. */
  trialBalance(): { postings: number; sumMinor: bigint } {
    const row = this.#statements.trialBalance.get() as { postings: bigint; total: bigint | null };
    return { postings: Number(row.postings), sumMinor: row.total ?? 0n };
  }

  /** Closes the database. */
  close(): void {
    if (this.#db.open) this.#db.close();
  }

  #postTransferLocked(scope: string, key: string, input: TransferInput): TransferOutcome {
    const requestHash = hashTransfer(input);
    const stored = this.#statements.storedResult.get(scope, key) as StoredResultRow | undefined;
    if (stored !== undefined) {
      if (stored.request_hash !== requestHash) throw new RampartError('idempotency_key_conflict');
      const body = JSON.parse(stored.response) as TransferRecord;
      return { status: stored.status, body, replayed: true };
    }

    const from = this.#statements.account.get(input.fromAccount) as AccountRow | undefined;
    if (from === undefined) throw new RampartError('account_not_found', { field: 'fromAccount' });
    const to = this.#statements.account.get(input.toAccount) as AccountRow | undefined;
    // The system account only funds opening balances; to a customer it does not exist.
    if (to === undefined || to.allow_negative === 1) {
      throw new RampartError('account_not_found', { field: 'toAccount' });
    }
    if (from.currency !== to.currency) {
      throw new RampartError('request_malformed', { field: 'toAccount' });
    }
    if (from.allow_negative === 0 && this.#balanceMinor(from.id) < BigInt(input.amountMinor)) {
      throw new RampartError('insufficient_funds');
    }

    const record: TransferRecord = {
      transferId: `tr-${randomUUID()}`,
      fromAccount: from.id,
      toAccount: to.id,
      amount: formatMinor(input.amountMinor),
      currency: from.currency,
      ...(input.reference === undefined ? {} : { reference: input.reference }),
      postedAt: new Date().toISOString(),
    };
    this.#writeTransfer(record.transferId, input, from.currency, record.postedAt);
    this.#statements.storeResult.run(
      scope,
      key,
      requestHash,
      201,
      JSON.stringify(record),
      record.postedAt,
    );
    return { status: 201, body: record, replayed: false };
  }

  #writeTransfer(
    transferId: string,
    input: TransferInput,
    currency: string,
    postedAt: string,
  ): void {
    const { fromAccount, toAccount, amountMinor } = input;
    this.#statements.insertTransfer.run(
      transferId,
      fromAccount,
      toAccount,
      amountMinor,
      currency,
      input.reference ?? null,
      postedAt,
    );
    this.#statements.insertPosting.run(transferId, fromAccount, -amountMinor);
    this.#statements.insertPosting.run(transferId, toAccount, amountMinor);
  }

  #balanceMinor(accountId: string): bigint {
    const row = this.#statements.balance.get(accountId) as { total: bigint | null };
    return row.total ?? 0n;
  }

  // Runs inside one transaction. The opening transfer of each account has a fixed id, so a
  // restart finds it and posts nothing twice.
  #seed(options: LedgerStoreOptions): void {
    const funding = options.fundingAccount;
    this.#statements.insertAccount.run(funding.id, funding.currency, 1);
    for (const account of options.accounts) {
      this.#statements.insertAccount.run(account.id, account.currency, 0);
      const openingMinor = account.openingMinor ?? 0;
      if (openingMinor <= 0) continue;

      const transferId = `opening-${account.id}`;
      if (this.#statements.transferExists.get(transferId) !== undefined) continue;
      const input = { fromAccount: funding.id, toAccount: account.id, amountMinor: openingMinor };
      this.#writeTransfer(
        transferId,
        { ...input, reference: 'opening balance' },
        account.currency,
        new Date().toISOString(),
      );
    }
  }
}

// Two requests are "the same" when they would post the same transfer, so `25` and `25.00` match.
function hashTransfer(input: TransferInput): string {
  const canonical = JSON.stringify([
    input.fromAccount,
    input.toAccount,
    input.amountMinor,
    input.reference ?? null,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

function prepareStatements(db: Database.Database) {
  return {
    account: db.prepare('SELECT id, currency, allow_negative FROM accounts WHERE id = ?'),
    // SUM over 64-bit integers can exceed 2^53, so it is read as a bigint.
    balance: db
      .prepare('SELECT SUM(amount_minor) AS total FROM postings WHERE account_id = ?')
      .safeIntegers(true),
    // Postings are append-only, so their id orders an account's history by posting time.
    history: db.prepare(
      `SELECT p.transfer_id, p.amount_minor, t.currency, t.from_account, t.to_account,
         t.reference, t.posted_at
       FROM postings p JOIN transfers t ON t.id = p.transfer_id
       WHERE p.account_id = ?
       ORDER BY p.id DESC
       LIMIT ?`,
    ),
    trialBalance: db
      .prepare('SELECT COUNT(*) AS postings, SUM(amount_minor) AS total FROM postings')
      .safeIntegers(true),
    storedResult: db.prepare(
      'SELECT request_hash, status, response FROM idempotency_keys WHERE scope = ? AND key = ?',
    ),
    storeResult: db.prepare(
      `INSERT INTO idempotency_keys (scope, key, request_hash, status, response, created_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
    ),
    insertAccount: db.prepare(
      'INSERT OR IGNORE INTO accounts (id, currency, allow_negative) VALUES (?, ?, ?)',
    ),
    transferExists: db.prepare('SELECT 1 FROM transfers WHERE id = ?'),
    insertTransfer: db.prepare(
      `INSERT INTO transfers (id, from_account, to_account, amount_minor, currency, reference, posted_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    insertPosting: db.prepare(
      'INSERT INTO postings (transfer_id, account_id, amount_minor) VALUES (?, ?, ?)',
    ),
  };
}
