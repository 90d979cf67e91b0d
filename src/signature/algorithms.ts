import {
  createHmac,
  createSecretKey,
  sign,
  timingSafeEqual,
  verify,
  type KeyObject,
} from 'node:crypto';

import { RampartError } from '../errors.js';

/** Algorithm names from the RFC 9421 registry that Rampart implements. */
export type AlgorithmName = 'hmac-sha256' | 'ed25519';

/** A key bound to exactly one algorithm, so a message can never pick another one. */
export type SignatureKey =
  | { algorithm: 'hmac-sha256'; secret: KeyObject }
  | { algorithm: 'ed25519'; privateKey?: KeyObject; publicKey: KeyObject };

/** Minimum HMAC key length: the SHA-256 output size (RFC 2104 section 3 advises at least that). */
export const MIN_HMAC_KEY_BYTES = 32;

/**
 * Wraps raw bytes as an `hmac-sha256` key.
 *
 * @throws TypeError when the key is shorter than 32 bytes.
 */
export function hmacKey(bytes: Uint8Array): SignatureKey {
  if (bytes.byteLength < MIN_HMAC_KEY_BYTES) {
    throw new TypeError(
      `hmac-sha256 key must be at least ${MIN_HMAC_KEY_BYTES} bytes, received ${bytes.byteLength}`,
    );
  }
  return { algorithm: 'hmac-sha256', secret: createSecretKey(bytes) };
}

/** Computes the signature bytes over `base` (RFC 9421 sections 3.3.3 and 3.3.6). */
export function computeSignature(key: SignatureKey, base: string): Uint8Array<ArrayBuffer> {
  if (key.algorithm === 'hmac-sha256') {
    return new Uint8Array(createHmac('sha256', key.secret).update(base, 'utf8').digest());
  }
  if (key.privateKey === undefined) throw new TypeError('ed25519 signing needs a private key');
  return new Uint8Array(sign(null, Buffer.from(base, 'utf8'), key.privateKey));
}

/**
 * Checks `signature` over `base`. HMAC values are compared in constant time, and every way the
 * check can fail (wrong length included) raises the same error, so a reply is no oracle.
 *
 * @throws RampartError `signature_invalid`
 */
export function checkSignature(key: SignatureKey, base: string, signature: Uint8Array): void {
  let valid: boolean;
  if (key.algorithm === 'hmac-sha256') {
    const expected = createHmac('sha256', key.secret).update(base, 'utf8').digest();
    valid = signature.byteLength === expected.byteLength && timingSafeEqual(expected, signature);
  } else {
    valid = verify(null, Buffer.from(base, 'utf8'), key.publicKey, signature);
  }
  if (!valid) throw new RampartError('signature_invalid');
}
