import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Database from 'better-sqlite3';

import { hmacKey } from '../../src/signature/algorithms.js';
import type { HopCredentials } from '../../src/service/hop-signature.js';
import type { Identity } from '../../src/service/identity.js';
import { SEED_USERS } from '../../examples/bank/seed.js';
import { HOP_KEY_IDS, type HopKeyId } from '../../examples/bank/services.js';

/** Temporary directory for one suite's ledger file, removed by `remove()`. */
export function createTempDir(): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'rampart-bank-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Fresh random bytes for every demo hop key id. */
export function newHopKeys(): Record<HopKeyId, Uint8Array> {
  const keys: Partial<Record<HopKeyId, Uint8Array>> = {};
  for (const keyid of HOP_KEY_IDS) keys[keyid] = randomBytes(32);
  return keys as Record<HopKeyId, Uint8Array>;
}

/** Signing credentials for one key id. */
export function credentialsFor(
  keys: Record<HopKeyId, Uint8Array>,
  keyid: HopKeyId,
): HopCredentials {
  return { keyid, key: hmacKey(keys[keyid]) };
}

/** Builds the identity the gateway would send for a demo user. */
export function identityFor(userId: string, permissions?: string[]): Identity {
  const user = SEED_USERS.find((candidate) => candidate.id === userId);
  if (user === undefined) throw new Error(`no demo user ${userId}`);
  return {
    sub: user.id,
    sid: `session-${user.id}`,
    roles: user.roles,
    permissions: permissions ?? user.permissions,
    requestId: `request-${randomBytes(4).toString('hex')}`,
  };
}

/** What the ledger file holds, read through a separate read-only connection. */
export interface LedgerSnapshot {
  transfers: number;
  postings: number;
  /** Sum of every posting in minor units; zero in a consistent ledger. */
  sumMinor: number;
  /** Balance of each account in minor units. */
  balances: Record<string, number>;
  /** Transfers whose postings do not sum to zero. */
  unbalancedTransfers: number;
}

/** Reads the ledger's SQLite file directly, bypassing the service. */
export function readLedger(dataDir: string): LedgerSnapshot {
  const db = new Database(join(dataDir, 'ledger.sqlite'), { readonly: true, fileMustExist: true });
  try {
    const totals = db
      .prepare('SELECT COUNT(*) AS postings, COALESCE(SUM(amount_minor), 0) AS total FROM postings')
      .get() as {
      postings: number;
      total: number;
    };
    const transfers = (
      db.prepare('SELECT COUNT(*) AS count FROM transfers').get() as { count: number }
    ).count;
    const rows = db
      .prepare('SELECT account_id, SUM(amount_minor) AS balance FROM postings GROUP BY account_id')
      .all() as Array<{ account_id: string; balance: number }>;
    const unbalanced = db
      .prepare(
        `SELECT COUNT(*) AS count FROM (
           SELECT transfer_id FROM postings GROUP BY transfer_id
           HAVING SUM(amount_minor) <> 0 OR COUNT(*) <> 2)`,
      )
      .get() as { count: number };
    return {
      transfers,
      postings: totals.postings,
      sumMinor: totals.total,
      balances: Object.fromEntries(rows.map((row) => [row.account_id, row.balance])),
      unbalancedTransfers: unbalanced.count,
    };
  } finally {
    db.close();
  }
}
