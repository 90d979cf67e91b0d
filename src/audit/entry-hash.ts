import { createHash } from 'node:crypto';

import type { AuditEntry } from './audit-entry.js';

/**
 * Computes the hash of an audit entry: SHA-256, as lowercase hex, over the UTF-8 bytes of its
 * canonical serialization. Every store and the verifier use this function, so a stored hash
 * matches only if every field, the position and the link to the previous entry are unchanged.
 *
 * The serialization is `JSON.stringify` (ECMAScript semantics) of an array that starts with
 * the version tag `rampart-audit/v1`, then `prevHash`, `seq`, `time` and every field of
 * `AuditEntryInput` in the order of `AuditEntryInput`, with a missing field written as `null`.
 * Any change to that array needs a new version tag, because existing chains must still verify.
 */
export function computeEntryHash(entry: Omit<AuditEntry, 'hash'>): string {
  const canonical = JSON.stringify([
    ENTRY_HASH_VERSION,
    entry.prevHash,
    entry.seq,
    entry.time,
    entry.event,
    entry.outcome,
    entry.code ?? null,
    entry.subject ?? null,
    entry.sessionId ?? null,
    entry.requestId ?? null,
    entry.method ?? null,
    entry.path ?? null,
    entry.bodyDigest ?? null,
    entry.clientAddress ?? null,
    entry.service ?? null,
    entry.upstreamStatus ?? null,
    entry.latencyMs ?? null,
  ]);
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

/** Version tag at the start of every serialized entry. */
export const ENTRY_HASH_VERSION = 'rampart-audit/v1';

/** `prevHash` of the first entry in a chain: 64 zeros, the length of a SHA-256 hex digest. */
export const GENESIS_HASH = '0'.repeat(64);
