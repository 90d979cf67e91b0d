import type { KeyObject } from 'node:crypto';

import type { Pool } from 'pg';

import { ChainVerifier, type AuditVerifyResult } from './chain-verifier.js';
import { assertEd25519Key } from './checkpoint.js';
import { readPostgresTrail } from './postgres-trail.js';
import { readSqliteTrail } from './sqlite-trail.js';

export type { AuditVerifyFailure, AuditVerifyResult } from './chain-verifier.js';

/** Options of `verifyAuditTrail` for a SQLite audit log. */
export interface VerifyAuditTrailOptions {
  /** Path of the SQLite audit log. */
  file: string;
  /** Ed25519 public key of the audit key. Without it, checkpoint signatures are not checked. */
  publicKey?: KeyObject;
}

/** Options of `verifyAuditTrail` for a PostgreSQL audit log. */
export interface VerifyPostgresAuditTrailOptions {
  /** Connection pool of the database that contains the audit tables. It is not closed. */
  pool: Pool;
  /** Ed25519 public key of the audit key. Without it, checkpoint signatures are not checked. */
  publicKey?: KeyObject;
}

/**
 * Verifies an audit log and names the first entry or checkpoint that does not match. A SQLite
 * log (`file`) is verified synchronously; a PostgreSQL log (`pool`) returns a promise.
 *
 * Walks the entries in `seq` order with {@link ChainVerifier}: no `seq` may be missing, each
 * `prev_hash` must equal the hash of the entry before, each hash must match the entry
 * contents, and each checkpoint must match its entry and, with `publicKey`, carry a valid
 * signature. A checkpoint beyond the last entry means that the tail was deleted. PostgreSQL
 * also keeps the chain head in its own row, which must match the last entry.
 *
 * All reads happen in one read transaction, so gateways may append while this runs.
 * Throws an `Error` naming the path when the SQLite file is missing or is not an audit log,
 * an `Error` when the database cannot be read, and a `TypeError` when `publicKey` is not an
 * Ed25519 public key.
 *
 * NOTE: without `publicKey`, someone who rewrites the chain can rewrite the checkpoint hashes
 * too. Deleting entries after the last checkpoint, or deleting checkpoints along with the
 * tail, is not detectable from the store alone, so keep `lastHash` or the checkpoints elsewhere.
 */
export function verifyAuditTrail(options: VerifyAuditTrailOptions): AuditVerifyResult;
export function verifyAuditTrail(
  options: VerifyPostgresAuditTrailOptions,
): Promise<AuditVerifyResult>;
export function verifyAuditTrail(
  options: VerifyAuditTrailOptions | VerifyPostgresAuditTrailOptions,
): AuditVerifyResult | Promise<AuditVerifyResult> {
  const { publicKey } = options;
  if (publicKey !== undefined) assertEd25519Key(publicKey, 'public', 'publicKey');

  if ('pool' in options) return verifyPostgresTrail(options.pool, publicKey);

  return readSqliteTrail(options.file, (trail) => {
    const verifier = new ChainVerifier(trail.checkpoints, publicKey);
    for (const entry of trail.entries) {
      const failure = verifier.next(entry);
      if (failure !== undefined) return failure;
    }
    return verifier.finish();
  });
}

async function verifyPostgresTrail(
  pool: Pool,
  publicKey: KeyObject | undefined,
): Promise<AuditVerifyResult> {
  return readPostgresTrail(pool, async (trail) => {
    const verifier = new ChainVerifier(trail.checkpoints, publicKey);
    for await (const entry of trail.entries) {
      const failure = verifier.next(entry);
      if (failure !== undefined) return failure;
    }
    return verifier.finish(trail.head);
  });
}
