import { RampartError } from '../errors.js';
import type { TokenKeyRing } from '../session/key-file.js';
import { openSessionToken, type SessionClaims } from '../session/session-token.js';
import { hmacKey, type SignatureKey } from '../signature/algorithms.js';

/** A token that has been decrypted once, with its session key ready for HMAC. */
export interface OpenedToken {
  claims: SessionClaims;
  sessionKey: SignatureKey;
}

/**
 * Remembers decrypted session tokens, so a session's second and later requests skip the
 * AES-GCM decryption and the key import. A token never changes, so a cached entry stays
 * correct; both expiries are still checked on every use. Revocation is not cached.
 *
 * NOTE: an entry outlives the retirement of the token key that sealed it, at most until the
 * token expires.
 */
export class TokenCache {
  readonly #entries = new Map<string, OpenedToken>();
  readonly #maxEntries: number;

  /** @param maxEntries bound on cached tokens; the oldest is dropped first. Default 10,000. */
  constructor(maxEntries = 10_000) {
    this.#maxEntries = maxEntries;
  }

  /**
   * Opens `token`, from the cache when possible. `expiredGraceSeconds` lets a token that
   * expired that recently still open; only the refresh route passes it.
   *
   * @throws RampartError `token_invalid`, `token_expired` or `session_expired`.
   */
  open(
    token: string,
    ring: TokenKeyRing,
    nowSeconds: number,
    expiredGraceSeconds = 0,
  ): OpenedToken {
    const cached = this.#entries.get(token);
    if (cached !== undefined) {
      if (cached.claims.sexp <= nowSeconds) throw new RampartError('session_expired');
      if (cached.claims.exp + expiredGraceSeconds <= nowSeconds)
        throw new RampartError('token_expired');
      return cached;
    }

    // The token's own expiry is checked against the grace-shifted clock, so a refresh can
    // accept a recently expired token; the absolute session expiry is checked without grace.
    const claims = openSessionToken(token, ring, nowSeconds - expiredGraceSeconds);
    if (claims.sexp <= nowSeconds) throw new RampartError('session_expired');
    const opened = { claims, sessionKey: hmacKey(Buffer.from(claims.key, 'base64url')) };
    if (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(token, opened);
    return opened;
  }
}
