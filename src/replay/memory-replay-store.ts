import { type ReplayStore, StoreUnavailableError } from './replay-store.js';

/** Options for {@link MemoryReplayStore}. */
export interface MemoryReplayStoreOptions {
  /** Hard bound on remembered nonces plus revocations. Default 1,000,000. */
  maxEntries?: number;
  /** Clock in milliseconds, for tests. Default `Date.now`. */
  now?: () => number;
}

/**
 * In-process replay store for a single gateway instance. Entries expire by TTL. When the bound
 * is reached after purging expired entries, `claimNonce` fails closed rather than evicting a
 * live nonce, because evicting one would let its request be replayed.
 */
export class MemoryReplayStore implements ReplayStore {
  readonly #maxEntries: number;
  readonly #now: () => number;
  // Values are expiry times in milliseconds.
  readonly #nonces = new Map<string, number>();
  readonly #revoked = new Map<string, number>();
  #lastPurge = 0;

  constructor(options: MemoryReplayStoreOptions = {}) {
    this.#maxEntries = options.maxEntries ?? 1_000_000;
    this.#now = options.now ?? Date.now;
  }

  async claimNonce(scope: string, nonce: string, ttlSeconds: number): Promise<boolean> {
    const now = this.#now();
    // Length-prefix the scope so ("a:b", "c") and ("a", "b:c") never collide.
    const key = `${scope.length}:${scope}:${nonce}`;
    const expiresAt = this.#nonces.get(key);
    if (expiresAt !== undefined && expiresAt > now) return false;

    this.#purgeIfDue(now);
    if (this.size >= this.#maxEntries) {
      throw new StoreUnavailableError('full', `replay store holds ${this.#maxEntries} entries`);
    }
    this.#nonces.delete(key);
    this.#nonces.set(key, now + ttlSeconds * 1000);
    return true;
  }

  async revokeSession(sessionId: string, untilSeconds: number): Promise<void> {
    this.#purgeIfDue(this.#now());
    // A revocation is never dropped for space: losing it would un-revoke a session.
    this.#revoked.set(sessionId, untilSeconds * 1000);
  }

  async isSessionRevoked(sessionId: string): Promise<boolean> {
    const until = this.#revoked.get(sessionId);
    return until !== undefined && until > this.#now();
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.#nonces.clear();
    this.#revoked.clear();
  }

  /** Number of entries currently held, expired ones included until the next purge. */
  get size(): number {
    return this.#nonces.size + this.#revoked.size;
  }

  // A full scan costs O(entries), so it runs at most once a second, and then only when the
  // store is at least half full; a flood at the bound cannot make every request pay for it.
  #purgeIfDue(now: number): void {
    if (this.size < this.#maxEntries / 2 || now - this.#lastPurge < 1000) return;
    this.#lastPurge = now;
    for (const [key, expiresAt] of this.#nonces) {
      if (expiresAt <= now) this.#nonces.delete(key);
    }
    for (const [key, until] of this.#revoked) {
      if (until <= now) this.#revoked.delete(key);
    }
  }
}
