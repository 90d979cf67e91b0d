import type { KeyObject } from 'node:crypto';

import type { AuditEntry } from './audit-entry.js';
import { checkpointSignatureValid, type AuditCheckpoint } from './checkpoint.js';
import { computeEntryHash, GENESIS_HASH } from './entry-hash.js';

/**
 * Result of verifying an audit trail. On failure, `seq` names the first entry that does not
 * match, or the entry of the first checkpoint that does not match, and `at` is `entry` or
 * `checkpoint` accordingly. `reason` gives the cause, and `entries` counts the entries verified
 * before it.
 */
export type AuditVerifyResult =
  { ok: true; entries: number; checkpoints: number; lastHash: string } | AuditVerifyFailure;

/** A failed verification; see {@link AuditVerifyResult}. */
export interface AuditVerifyFailure {
  ok: false;
  seq: number;
  reason: string;
  entries: number;
  /** Whether an entry or a checkpoint failed to match. */
  at: 'entry' | 'checkpoint';
}

/** The head of the chain as a store records it apart from the entries. */
export interface ChainHead {
  seq: number;
  hash: string;
}

/**
 * Walks a hash chain entry by entry, in `seq` order, and checks it against the checkpoints.
 * Every store's verifier feeds its entries through this class, so the rules are the same for
 * SQLite and PostgreSQL.
 *
 * It checks that no `seq` is missing, that each `prevHash` equals the hash of the entry before,
 * and that each hash matches the entry contents. It checks each checkpoint where the walk
 * reaches its entry: the checkpoint hash must equal the entry hash, the payload version must be
 * known, and with a public key the signature must verify. A checkpoint beyond the last entry
 * means that the tail was deleted.
 */
export class ChainVerifier {
  readonly #checkpoints = new Map<number, AuditCheckpoint>();
  readonly #publicKey: KeyObject | undefined;
  #lastSeq = 0;
  #lastHash = GENESIS_HASH;
  #checkpointsVerified = 0;

  /** @param publicKey Ed25519 public audit key; without it, signatures are not checked. */
  constructor(checkpoints: Iterable<AuditCheckpoint>, publicKey?: KeyObject) {
    for (const checkpoint of checkpoints) this.#checkpoints.set(checkpoint.seq, checkpoint);
    this.#publicKey = publicKey;
  }

  /** Checks the next entry. Returns the failure, or undefined when the entry matches. */
  next(entry: AuditEntry): AuditVerifyFailure | undefined {
    const expectedSeq = this.#lastSeq + 1;

    // A gap means an entry was deleted. A seq below the expected one can only be 0 or
    // negative, because seq is the primary key and rows arrive in order.
    if (entry.seq > expectedSeq) {
      return this.#failure(expectedSeq, `entry ${expectedSeq} is missing`, 'entry');
    }
    if (entry.seq < expectedSeq) {
      return this.#failure(
        entry.seq,
        `entry ${entry.seq} is out of sequence; expected entry ${expectedSeq}`,
        'entry',
      );
    }

    if (entry.prevHash !== this.#lastHash) {
      const reason =
        this.#lastSeq === 0
          ? 'prev_hash of the first entry is not the genesis hash (64 zeros)'
          : `prev_hash does not link to entry ${this.#lastSeq}`;
      return this.#failure(entry.seq, reason, 'entry');
    }

    if (computeEntryHash(entry) !== entry.hash) {
      return this.#failure(entry.seq, 'hash does not match the entry contents', 'entry');
    }

    const checkpoint = this.#checkpoints.get(entry.seq);
    if (checkpoint !== undefined) {
      const reason = this.#checkCheckpoint(checkpoint, entry.hash);
      if (reason !== undefined) return this.#failure(entry.seq, reason, 'checkpoint');
      this.#checkpointsVerified += 1;
    }

    this.#lastSeq = entry.seq;
    this.#lastHash = entry.hash;
    return undefined;
  }

  /**
   * Finishes the walk: fails when a checkpoint lies beyond the last entry or refers to no
   * entry, or when `head` (the chain head a store keeps apart from the entries) disagrees with
   * the last entry.
   */
  finish(head?: ChainHead): AuditVerifyResult {
    // Every checkpoint at or below lastSeq was checked in the walk, so one left over is either
    // beyond the end of the chain or refers to no entry at all.
    for (const checkpoint of this.#checkpoints.values()) {
      if (checkpoint.seq < 1) {
        return this.#failure(
          checkpoint.seq,
          `checkpoint at seq ${checkpoint.seq} refers to no entry`,
          'checkpoint',
        );
      }
      if (checkpoint.seq > this.#lastSeq) {
        const missing = this.#lastSeq + 1;
        return this.#failure(
          missing,
          `entry ${missing} is missing: a checkpoint covers entry ${checkpoint.seq}, but the trail ends at entry ${this.#lastSeq}`,
          'entry',
        );
      }
    }

    if (head !== undefined) {
      const failure = this.#checkHead(head);
      if (failure !== undefined) return failure;
    }

    return {
      ok: true,
      entries: this.#lastSeq,
      checkpoints: this.#checkpointsVerified,
      lastHash: this.#lastHash,
    };
  }

  #checkHead(head: ChainHead): AuditVerifyFailure | undefined {
    if (head.seq > this.#lastSeq) {
      const missing = this.#lastSeq + 1;
      return this.#failure(
        missing,
        `entry ${missing} is missing: the chain head records entry ${head.seq}, but the trail ends at entry ${this.#lastSeq}`,
        'entry',
      );
    }
    if (head.seq < this.#lastSeq) {
      return this.#failure(
        head.seq + 1,
        `entry ${head.seq + 1} was not appended through the log: the chain head records entry ${head.seq}`,
        'entry',
      );
    }
    if (head.hash !== this.#lastHash) {
      return this.#failure(
        this.#lastSeq,
        `hash of entry ${this.#lastSeq} does not match the chain head`,
        'entry',
      );
    }
    return undefined;
  }

  /** Returns the reason the checkpoint fails, or undefined when it matches. */
  #checkCheckpoint(checkpoint: AuditCheckpoint, entryHash: string): string | undefined {
    if (checkpoint.hash !== entryHash) {
      return `checkpoint hash does not match the hash of entry ${checkpoint.seq}`;
    }

    if (checkpoint.version !== 1 && checkpoint.version !== 2) {
      return `checkpoint for entry ${checkpoint.seq} has unknown version ${String(checkpoint.version)}`;
    }

    if (this.#publicKey === undefined) return undefined;
    if (!checkpointSignatureValid(checkpoint, this.#publicKey)) {
      return `checkpoint signature for entry ${checkpoint.seq} is invalid (key id ${checkpoint.keyId})`;
    }
    return undefined;
  }

  #failure(seq: number, reason: string, at: 'entry' | 'checkpoint'): AuditVerifyFailure {
    return { ok: false, seq, reason, entries: this.#lastSeq, at };
  }
}
