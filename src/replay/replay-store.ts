/**
 * Shared state for replay protection and logout. The in-process store is the embedded default;
 * a Redis store implements the same interface when several gateway instances run.
 *
 * Implementations must be atomic per call: two concurrent `claimNonce` calls with the same
 * arguments never both return true.
 */
export interface ReplayStore {
  /**
   * Epoch seconds from which the store has seen every claimed nonce, for a store that forgets
   * them on restart. Undefined for a store that keeps them (Redis).
   */
  readonly nonceHistoryStart?: number;

  /**
   * Records `nonce` for `scope` (the signature key id) if it is new.
   *
   * @param ttlSeconds how long the nonce must be remembered; covers the signature window.
   * @returns true when the nonce was new and is now claimed, false when it was seen before.
   * @throws StoreUnavailableError when the store cannot be reached or is full.
   */
  claimNonce(scope: string, nonce: string, ttlSeconds: number): Promise<boolean>;

  /** Marks a session id as revoked until `untilSeconds` (epoch seconds). */
  revokeSession(sessionId: string, untilSeconds: number): Promise<void>;

  /** Returns true when the session id has been revoked and the revocation has not lapsed. */
  isSessionRevoked(sessionId: string): Promise<boolean>;

  /** Throws StoreUnavailableError when the store cannot be reached. */
  ping(): Promise<void>;

  close(): Promise<void>;
}

/**
 * Reason a store call failed: `unreachable` (no connection), `timeout` (a command got no reply
 * in time) or `full` (the in-process store reached its size bound).
 */
export type StoreFailureReason = 'unreachable' | 'timeout' | 'full';

/** A store that cannot answer; the gateway fails closed with 503 on it. */
export class StoreUnavailableError extends Error {
  readonly reason: StoreFailureReason;

  constructor(reason: StoreFailureReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
    this.reason = reason;
  }
}

/** The part of a pino logger that the stores use to report connection events. */
export interface StoreLogger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}
