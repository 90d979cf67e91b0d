import { createECDH, hkdfSync, randomBytes } from 'node:crypto';

import { RampartError } from '../errors.js';

/** Protocol version named in the HKDF info string; a new version derives unrelated keys. */
export const PROTOCOL_VERSION = 'rampart/v1';

/** Length of the derived session key in bytes (an HMAC-SHA256 key of the hash's size). */
export const SESSION_KEY_BYTES = 32;

/** An uncompressed P-256 point: 0x04, then 32-byte x and y. */
const P256_UNCOMPRESSED_BYTES = 65;

/** The server's half of a completed key exchange. */
export interface ServerHandshake {
  /** Server's ephemeral public key, uncompressed point, base64url. */
  serverPublicKey: string;
  /** Random HKDF salt, base64url. */
  salt: string;
  /** The derived 32-byte session key. Never sent anywhere. */
  sessionKey: Buffer;
}

/**
 * Completes the login key exchange: makes an ephemeral P-256 key pair, computes the ECDH shared
 * secret with the client's public key and derives the session key with HKDF-SHA256 (RFC 5869),
 * a 32-byte random salt and the info string `rampart/v1 session-key <sessionId>`. The ephemeral
 * private key is dropped when this returns.
 *
 * @param clientPublicKey the client's uncompressed P-256 point, base64url.
 * @throws RampartError `handshake_invalid` when the point is malformed or not on the curve.
 */
export function acceptHandshake(clientPublicKey: string, sessionId: string): ServerHandshake {
  const clientPoint = decodePoint(clientPublicKey);
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();

  let sharedSecret: Buffer;
  try {
    // Node validates that the point lies on the curve and throws otherwise.
    sharedSecret = ecdh.computeSecret(clientPoint);
  } catch {
    throw new RampartError('handshake_invalid', { field: 'clientPublicKey' });
  }

  const salt = randomBytes(32);
  return {
    serverPublicKey: ecdh.getPublicKey().toString('base64url'),
    salt: salt.toString('base64url'),
    sessionKey: deriveSessionKey(sharedSecret, salt, sessionId),
  };
}

/** Derives the session key both sides compute from the ECDH shared secret. */
export function deriveSessionKey(
  sharedSecret: Uint8Array,
  salt: Uint8Array,
  sessionId: string,
): Buffer {
  const info = `${PROTOCOL_VERSION} session-key ${sessionId}`;
  return Buffer.from(hkdfSync('sha256', sharedSecret, salt, info, SESSION_KEY_BYTES));
}

function decodePoint(encoded: string): Buffer {
  if (typeof encoded !== 'string' || !/^[A-Za-z0-9_-]{87}$/.test(encoded)) {
    throw new RampartError('handshake_invalid', { field: 'clientPublicKey' });
  }
  const point = Buffer.from(encoded, 'base64url');
  if (point.length !== P256_UNCOMPRESSED_BYTES || point[0] !== 0x04) {
    throw new RampartError('handshake_invalid', { field: 'clientPublicKey' });
  }
  return point;
}

/** The client's half of the exchange, for Node clients and tests. */
export interface ClientHandshake {
  /** Uncompressed P-256 point to send as `clientPublicKey`, base64url. */
  publicKey: string;
  /** Derives the session key from the server's reply. */
  deriveKey(serverPublicKey: string, salt: string, sessionId: string): Buffer;
}

/** Starts a login key exchange on the client side with an ephemeral P-256 key pair. */
export function createClientHandshake(): ClientHandshake {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return {
    publicKey: ecdh.getPublicKey().toString('base64url'),
    deriveKey(serverPublicKey, salt, sessionId) {
      const shared = ecdh.computeSecret(Buffer.from(serverPublicKey, 'base64url'));
      return deriveSessionKey(shared, Buffer.from(salt, 'base64url'), sessionId);
    },
  };
}
