import type { ReplayStore } from './replay-store.js';

/**
 * Fixed-window counters that every gateway instance shares: the per-session request limit and
 * the login attempt limits with their lockouts. The in-process store is the embedded default; a
 * Redis store implements the same interface when several instances run.
 *
 * Implementations must be atomic per call: a call reads and updates its counters in one step, so
 * concurrent calls on any number of instances never admit more than the limit.
 */
export interface RateLimitStore {
  /**
   * Claims `nonce` for `scope` and counts the request against `rateLimit` in one atomic step,
   * which the Redis store runs in one round trip. A replayed nonce is not counted. A request over
   * the limit does not claim its nonce, because it is not accepted.
   *
   * @throws StoreUnavailableError when the store cannot be reached or is full.
   */
  admitRequest(request: AdmitRequest): Promise<Admission>;

  /**
   * Counts one login attempt against every limit in `limits`, atomically. When any key is locked
   * out, nothing is counted and the longest remaining lockout is returned. When a count goes over
   * its `maxAttempts`, that key is locked out for `lockoutSeconds` and its count restarts.
   *
   * @returns seconds until the caller may try again, or 0 when the attempt is allowed.
   * @throws StoreUnavailableError when the store cannot be reached.
   */
  consumeAttempts(limits: readonly AttemptLimit[]): Promise<number>;

  /**
   * Gives back attempts after a successful login: `reset` deletes the key's count, otherwise
   * the count goes down by one (never below zero). A lockout is not lifted.
   *
   * @throws StoreUnavailableError when the store cannot be reached.
   */
  releaseAttempts(releases: readonly AttemptRelease[]): Promise<void>;
}

/** The shared state a gateway needs: nonces and revocations, plus rate-limit counters. */
export type GatewayStateStore = ReplayStore & RateLimitStore;

/** One request to admit. */
export interface AdmitRequest {
  /** Scope of the nonce, the signature key id. */
  scope: string;
  nonce: string;
  /** How long the nonce must be remembered, in seconds. */
  nonceTtlSeconds: number;
  /** Counter to charge the request to; without it only the nonce is claimed. */
  rateLimit?: WindowLimit;
}

/** A fixed-window request limit. */
export interface WindowLimit {
  /** Counter key, such as the session id. */
  key: string;
  /** Requests allowed in one window. */
  maxRequests: number;
  /** Length of the window in seconds; it starts with the first counted request. */
  windowSeconds: number;
}

/** Result of {@link RateLimitStore.admitRequest}. */
export type Admission =
  | { outcome: 'admitted' }
  | { outcome: 'replayed' }
  | {
      outcome: 'rate_limited';
      /** Whole seconds until the window ends, at least 1. */
      retryAfterSeconds: number;
    };

/** A login attempt limit on one key, such as an account or a client address. */
export interface AttemptLimit {
  key: string;
  /** Attempts allowed within `windowSeconds`; the next one starts a lockout. */
  maxAttempts: number;
  /** Length of the counting window in seconds; it starts with the first attempt. */
  windowSeconds: number;
  /** How long the key stays locked once over the limit, in seconds. */
  lockoutSeconds: number;
}

/** One attempt count to give back. */
export interface AttemptRelease {
  key: string;
  /** True deletes the count; false subtracts one attempt. */
  reset: boolean;
}
