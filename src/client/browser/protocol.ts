/**
 * Protocol constants the browser SDK shares with the gateway. They are repeated here because the
 * gateway modules that define them import Node's crypto. A Node test checks that both copies
 * match.
 */

/** Protocol version named in the HKDF info string, as in `src/session/handshake.ts`. */
export const PROTOCOL_VERSION = 'rampart/v1';
/** `tag` parameter of every client request signature. */
export const CLIENT_TAG = 'rampart';
/** `tag` parameter of the gateway's response signatures. */
export const RESPONSE_TAG = 'rampart-response';
/** Dictionary label the SDK gives its request signature. */
export const REQUEST_LABEL = 'sig1';
/** Methods that change state: they carry an Idempotency-Key and always a body. */
export const UNSAFE_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Gateway codes that mean the session can no longer sign anything: the token is gone, expired,
 * unreadable or revoked. The SDK drops its key when it receives one of them.
 */
export const SESSION_ENDED_CODES: ReadonlySet<string> = new Set([
  'token_missing',
  'token_invalid',
  'token_expired',
  'session_expired',
  'session_revoked',
]);
