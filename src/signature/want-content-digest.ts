import { type Dictionary, serializeDictionary } from 'structured-headers';

import { RampartError } from '../errors.js';
import type { DigestAlgorithm } from './content-digest.js';
import { parseDictionaryField } from './structured-field.js';

/** One member of `Want-Content-Digest`: an algorithm and how much the sender wants it. */
export interface DigestPreference {
  /** Algorithm name from the RFC 9530 registry, such as `sha-256`; unknown names are kept. */
  algorithm: string;
  /** 1 (least preferred) to 10 (most preferred), or 0 for "not acceptable". */
  weight: number;
}

/**
 * Parses a `Want-Content-Digest` field value (RFC 9530 section 4): a Dictionary whose members are
 * Integers from 0 to 10, keyed by algorithm. Member parameters are ignored. Preferences are
 * returned in field order.
 *
 * @throws RampartError `want_content_digest_malformed` when the value is not such a dictionary,
 *   names an algorithm twice, or is longer than `MAX_FIELD_LENGTH`.
 */
export function parseWantContentDigest(fieldValue: string): DigestPreference[] {
  const members = parseDictionaryField(fieldValue, {
    code: 'want_content_digest_malformed',
    field: 'Want-Content-Digest',
    rejectDuplicateKeys: true,
  });
  const preferences: DigestPreference[] = [];
  for (const [algorithm, [weight]] of members) {
    if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 0 || weight > 10) {
      throw new RampartError('want_content_digest_malformed', { field: 'Want-Content-Digest' });
    }
    preferences.push({ algorithm, weight });
  }
  return preferences;
}

/**
 * Serializes preferences as a `Want-Content-Digest` field value.
 *
 * @throws TypeError when a weight is not an integer from 0 to 10 or an algorithm is not a valid
 *   structured field key.
 */
export function serializeWantContentDigest(preferences: readonly DigestPreference[]): string {
  const members: Dictionary = new Map();
  for (const { algorithm, weight } of preferences) {
    if (!Number.isInteger(weight) || weight < 0 || weight > 10) {
      throw new TypeError(
        `digest preference weight must be an integer from 0 to 10, received ${weight}`,
      );
    }
    if (!/^[a-z*][a-z0-9_\-.*]*$/.test(algorithm)) {
      throw new TypeError(
        `digest algorithm must be a structured field key, received ${JSON.stringify(algorithm)}`,
      );
    }
    members.set(algorithm, [weight, new Map()]);
  }
  return serializeDictionary(members);
}

/**
 * Picks the digest algorithm that best meets `preferences`: the supported one with the highest
 * non-zero weight, the earlier one on a tie. Returns undefined when none is acceptable.
 * Preferences are only a hint (RFC 9530 section 4), so a caller may still send another digest.
 *
 * @param supported algorithms the caller can compute; default `sha-256` and `sha-512`.
 */
export function selectDigestAlgorithm(
  preferences: readonly DigestPreference[],
  supported: readonly DigestAlgorithm[] = ['sha-256', 'sha-512'],
): DigestAlgorithm | undefined {
  let best: DigestPreference | undefined;
  for (const preference of preferences) {
    if (preference.weight === 0) continue;
    if (!supported.includes(preference.algorithm as DigestAlgorithm)) continue;
    if (best === undefined || preference.weight > best.weight) best = preference;
  }
  return best?.algorithm as DigestAlgorithm | undefined;
}
