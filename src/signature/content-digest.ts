import { createHash, timingSafeEqual } from 'node:crypto';

import { type Dictionary, parseDictionary, serializeDictionary } from 'structured-headers';

import { RampartError } from '../errors.js';

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
 * Checks a `Content-Digest` field value against `body`. Every supported algorithm present must
 * match; unknown algorithms are ignored as RFC 9530 section 2 requires, but at least one
 * supported algorithm must be present.
 *
 * @throws RampartError `digest_malformed`, `digest_algorithm_unsupported` or `digest_mismatch`.
 */
export function checkContentDigest(fieldValue: string, body: Uint8Array): void {
  let members: ReturnType<typeof parseDictionary>;
  try {
    members = parseDictionary(fieldValue);
  } catch {
    throw new RampartError('digest_malformed');
  }

  let checked = 0;
  for (const [name, member] of members) {
    if (name !== 'sha-256' && name !== 'sha-512') continue;
    const value = member[0];
    if (!(value instanceof ArrayBuffer)) throw new RampartError('digest_malformed');

    const expected = createHash(NODE_HASH[name]).update(body).digest();
    const received = new Uint8Array(value);
    if (received.byteLength !== expected.byteLength || !timingSafeEqual(expected, received)) {
      throw new RampartError('digest_mismatch');
    }
    checked += 1;
  }
  if (checked === 0) throw new RampartError('digest_algorithm_unsupported');
}
