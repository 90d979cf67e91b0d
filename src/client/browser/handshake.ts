import { RampartClientError } from '../client-error.js';
import { fromBase64Url, toBase64Url, utf8 } from './encoding.js';
import { PROTOCOL_VERSION } from './protocol.js';

const P256 = { name: 'ECDH', namedCurve: 'P-256' } as const;
const SESSION_KEY_ALGORITHM = { name: 'HMAC', hash: 'SHA-256', length: 256 } as const;

/** The browser's half of the login key exchange. */
export interface BrowserHandshake {
  /** Uncompressed P-256 point to send as `clientPublicKey`, base64url. */
  publicKey: string;
  /**
   * Derives the session key from the gateway's login response as a non-extractable HMAC-SHA256
   * `CryptoKey` usable only to sign and verify.
   *
   * @throws RampartClientError `handshake_invalid` when the gateway's point or salt is invalid.
   */
  deriveSessionKey(serverPublicKey: string, salt: string, sessionId: string): Promise<CryptoKey>;
}

/**
 * Starts a login key exchange with an ephemeral ECDH P-256 key pair whose private key is
 * non-extractable, so page script can use it only through WebCrypto and never read it. The
 * session key is derived as the gateway derives it: HKDF-SHA256 (RFC 5869) over the ECDH
 * shared secret, with the gateway's salt and the info string `rampart/v1 session-key <id>`.
 * The shared secret never becomes a JavaScript value: ECDH derives a non-extractable HKDF key.
 */
export async function startHandshake(): Promise<BrowserHandshake> {
  const subtle = globalThis.crypto.subtle;
  const pair = await subtle.generateKey(P256, false, ['deriveKey']);
  const publicKey = new Uint8Array(await subtle.exportKey('raw', pair.publicKey));

  return {
    publicKey: toBase64Url(publicKey),
    async deriveSessionKey(serverPublicKey, salt, sessionId) {
      let serverKey: CryptoKey;
      let saltBytes: Uint8Array<ArrayBuffer>;
      try {
        // importKey checks that the point lies on the curve.
        serverKey = await subtle.importKey('raw', fromBase64Url(serverPublicKey), P256, false, []);
        saltBytes = fromBase64Url(salt);
      } catch {
        throw new RampartClientError(
          'handshake_invalid',
          'the server public key or salt in the login response is invalid',
        );
      }
      const sharedSecret = await subtle.deriveKey(
        { name: 'ECDH', public: serverKey },
        pair.privateKey,
        'HKDF',
        false,
        ['deriveKey'],
      );
      return subtle.deriveKey(
        {
          name: 'HKDF',
          hash: 'SHA-256',
          salt: saltBytes,
          info: utf8(`${PROTOCOL_VERSION} session-key ${sessionId}`),
        },
        sharedSecret,
        SESSION_KEY_ALGORITHM,
        false,
        ['sign', 'verify'],
      );
    },
  };
}
