import { createHash, timingSafeEqual } from 'node:crypto';

import { type Dictionary, serializeDictionary } from 'structured-headers';

import { RampartError } from '../errors.js';
import { parseDictionaryField } from './structured-field.js';

/** Digest algorithms from the RFC 9530 registry that Rampart computes and checks. */
export type DigestAlgorithm = 'sha-256' | 'sha-512';

const NODE_HASH: Record<DigestAlgorithm, string> = { 'sha-256': 'sha256', 'sha-512': 'sha512' };

/** Builds a `Content-Digest` field value (RFC 9530 section 2) for `body`. */
export function createContentDigest(
  body: Uint8Array,
  algorithms: readonly DigestAlgorithm[] = ['sha-256'],
): string {
  const members: Dictionary = new Map();
  for (const algorithm of algorithms) {
    const digest = new Uint8Array(createHash(NODE_HASH[algorithm]).update(body).digest());
    members.set(algorithm, [digest, new Map()]);
  }
  return serializeDictionary(members);
}

/**
 * Parses a `Content-Digest` (or `Repr-Digest`) field value: an RFC 8941 Dictionary whose members
 * are Byte Sequences, keyed by algorithm name (RFC 9530 section 2). Every member must be a Byte
 * Sequence, whatever its algorithm, and an algorithm given twice is rejected rather than letting
 * the last one win.
 *
 * @throws RampartError `digest_malformed` when the value is not such a dictionary or is longer
 *   than `MAX_FIELD_LENGTH`.
 */
export function parseContentDigest(fieldValue: string): Map<string, Uint8Array> {
  const members = parseDictionaryField(fieldValue, {
    code: 'digest_malformed',
    field: 'Content-Digest',
    rejectDuplicateKeys: true,
  });
  const digests = new Map<string, Uint8Array>();
  for (const [algorithm, [value]] of members) {
    if (!(value instanceof ArrayBuffer)) {
      throw new RampartError('digest_malformed', { field: 'Content-Digest' });
    }
    digests.set(algorithm, new Uint8Array(value));
  }
  return digests;
}

/**
 * Checks a `Content-Digest` field value against `body`. Every supported algorithm present must
 * match; unknown algorithms are ignored as RFC 9530 section 2 requires, but at least one
 * supported algorithm must be present.
 *
 * @throws RampartError `digest_malformed`, `digest_algorithm_unsupported` or `digest_mismatch`.
 */
export function checkContentDigest(fieldValue: string, body: Uint8Array): void {
  let checked = 0;
  for (const [name, received] of parseContentDigest(fieldValue)) {
    if (name !== 'sha-256' && name !== 'sha-512') continue;

    const expected = createHash(NODE_HASH[name]).update(body).digest();
    if (received.byteLength !== expected.byteLength || !timingSafeEqual(expected, received)) {
      throw new RampartError('digest_mismatch');
    }
    checked += 1;
  }
  if (checked === 0) throw new RampartError('digest_algorithm_unsupported');
}
