import { type Dictionary, parseDictionary, serializeDictionary } from 'structured-headers';

/**
 * Builds a `Content-Digest` field value (RFC 9530 section 2) with the WebCrypto SHA-256 of
 * `body`.
 */
export async function createContentDigest(body: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', body);
  const members: Dictionary = new Map([['sha-256', [digest, new Map()]]]);
  return serializeDictionary(members);
}

/**
 * Returns true when the `sha-256` member of a `Content-Digest` field value matches `body`. A
 * field without that member does not match: the gateway always sends it. The digest is no
 * secret, so a plain comparison leaks nothing.
 */
export async function contentDigestMatches(
  fieldValue: string,
  body: Uint8Array<ArrayBuffer>,
): Promise<boolean> {
  let member: unknown;
  try {
    member = parseDictionary(fieldValue).get('sha-256')?.[0];
  } catch {
    return false;
  }
  if (!(member instanceof ArrayBuffer)) return false;

  const expected = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', body));
  const received = new Uint8Array(member);
  return received.length === expected.length && received.every((byte, i) => byte === expected[i]);
}
