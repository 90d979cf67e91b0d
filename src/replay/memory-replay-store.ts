import type {
  Admission,
  AdmitRequest,
  AttemptLimit,
  AttemptRelease,
  RateLimitStore,
} from './rate-limit-store.js';
import { RevocationFile, type PreviousActivity } from './revocation-file.js';
import { type ReplayStore, StoreUnavailableError } from './replay-store.js';

/** Options for {@link MemoryReplayStore}. */
export interface MemoryReplayStoreOptions {
  /** Hard bound on remembered nonces plus revocations. Default 1,000,000. */
  maxEntries?: number;
  /** Bound on rate-limit counters (sessions, accounts, addresses). Default 100,000. */
  maxCounters?: number;
  /** Clock in milliseconds, for tests. Default `Date.now`. */
  now?: () => number;
  /**
   * SQLite file that keeps revocations across restarts. Without it, a restart forgets every
   * logout. Nonces are not persisted: see `nonceHistoryStart`.
   */
  revocationFile?: string;
  /**
   * Whether a newly created revocation file means that no earlier process used the nonce
   * history. Set it to false when other files show that one did. Default true.
   */
  newFileMeansFresh?: boolean;
}

/** A fixed-window counter; times are in milliseconds. */
interface Counter {
  count: number;
  resetAt: number;
  /** End of the lockout, or 0 when the key is not locked. */
  lockedUntil: number;
}

/**
 * In-process replay store and rate limiter for a single gateway instance. Entries expire by
 * TTL. When the bound is reached after purging expired entries, `claimNonce` fails closed rather
 * than evicting a live nonce, because evicting one would let its request be replayed.
 *
 * Counters have their own bound. When it is reached, the oldest counter is dropped, so a flood
 * of new keys cannot grow memory without limit.
 */
export class MemoryReplayStore implements ReplayStore, RateLimitStore {
  readonly #maxEntries: number;
  readonly #maxCounters: number;
  readonly #now: () => number;
  // Values are expiry times in tenths of a second after #epochMs, rounded up, so for about six
  // years of uptime they stay small integers that V8 stores inline instead of as 16-byte heap
  // numbers.
  readonly #nonces = new Map<string, number>();
  readonly #epochMs: number;
  readonly #revoked = new Map<string, number>();
  readonly #counters = new Map<string, Counter>();
  #lastPurge = 0;
  readonly #revocations: RevocationFile | undefined;

  /**
   * Time (epoch seconds) from which this store has seen every nonce: its creation, since nonces
   * live only in memory. A signature created earlier may carry a nonce used before a restart,
   * so the gateway must not accept it on this store's word.
   */
  readonly nonceHistoryStart: number;
  /** Time in epoch ms until which the revocation file records that this process may accept requests. */
  #activeUntilMs = 0;
  #activityTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: MemoryReplayStoreOptions = {}) {
    this.#maxEntries = options.maxEntries ?? 1_000_000;
    this.#maxCounters = options.maxCounters ?? 100_000;
    this.#now = options.now ?? Date.now;
    this.#epochMs = this.#now();
    let previousActivity: PreviousActivity = 'unknown';
    if (options.revocationFile !== undefined) {
      this.#revocations = new RevocationFile(options.revocationFile);
      previousActivity = this.#revocations.previousActivity;
      if (previousActivity === 'none' && options.newFileMeansFresh === false)
        previousActivity = 'unknown';
      for (const [sessionId, until] of this.#revocations.load(this.#now()))
        this.#revoked.set(sessionId, until);
      this.#renewActivity(this.#epochMs);
      this.#activityTimer = setInterval(() => {
        try {
          this.#renewActivity(this.#now());
        } catch {
          // The next admission renews the record itself and fails closed if it cannot.
        }
      }, ACTIVITY_RENEWAL_MS);
      this.#activityTimer.unref();
    }
    // Without a record, an earlier process may have run until this one started.
    const lastActiveMs = previousActivity === 'unknown' ? this.#epochMs : previousActivity;
    // The gateway accepts a signature whose created second is at most maxFutureSeconds after
    // its clock's second, so the earlier process saw none created after that second plus
    // maxFutureSeconds. A file no process used before leaves nothing to guard.
    this.nonceHistoryStart = lastActiveMs === 'none' ? 0 : Math.floor(lastActiveMs / 1000) + 1;
  }

  async claimNonce(scope: string, nonce: string, ttlSeconds: number): Promise<boolean> {
    const now = this.#now();
    const key = nonceKey(scope, nonce);
    if (this.#isLiveNonce(key, now)) return false;

    this.#storeNonce(key, ttlSeconds, now);
    return true;
  }

  async admitRequest(request: AdmitRequest): Promise<Admission> {
    const now = this.#now();
    const key = nonceKey(request.scope, request.nonce);
    if (this.#isLiveNonce(key, now)) return { outcome: 'replayed' };

    const limit = request.rateLimit;
    if (limit !== undefined) {
      const counter = this.#counter(`request:${limit.key}`, limit.windowSeconds, now);
      counter.count += 1;
      if (counter.count > limit.maxRequests) {
        return { outcome: 'rate_limited', retryAfterSeconds: secondsUntil(counter.resetAt, now) };
      }
    }

    this.#storeNonce(key, request.nonceTtlSeconds, now);
    return { outcome: 'admitted' };
  }

  async consumeAttempts(limits: readonly AttemptLimit[]): Promise<number> {
    const now = this.#now();
    let lockedUntil = 0;
    for (const limit of limits) {
      const counter = this.#counters.get(`attempt:${limit.key}`);
      if (counter !== undefined) lockedUntil = Math.max(lockedUntil, counter.lockedUntil);
    }
    if (lockedUntil > now) return secondsUntil(lockedUntil, now);

    for (const limit of limits) {
      const counter = this.#counter(`attempt:${limit.key}`, limit.windowSeconds, now);
      counter.count += 1;
      if (counter.count > limit.maxAttempts) {
        counter.lockedUntil = now + limit.lockoutSeconds * 1000;
        counter.count = 0;
        lockedUntil = Math.max(lockedUntil, counter.lockedUntil);
      }
    }
    return lockedUntil > now ? secondsUntil(lockedUntil, now) : 0;
  }

  async releaseAttempts(releases: readonly AttemptRelease[]): Promise<void> {
    for (const release of releases) {
      const counter = this.#counters.get(`attempt:${release.key}`);
      if (counter === undefined) continue;
      counter.count = release.reset ? 0 : Math.max(0, counter.count - 1);
    }
  }

  async revokeSession(sessionId: string, untilSeconds: number): Promise<void> {
    this.#purgeIfDue(this.#now());
    try {
      this.#revocations?.save(sessionId, untilSeconds * 1000);
    } catch (error) {
      throw new StoreUnavailableError(
        'unreachable',
        `revocation file write failed: ${(error as Error).message}`,
      );
    }
    // A revocation is never dropped for space: losing it would un-revoke a session.
    this.#revoked.set(sessionId, untilSeconds * 1000);
  }

  async isSessionRevoked(sessionId: string): Promise<boolean> {
    const until = this.#revoked.get(sessionId);
    return until !== undefined && until > this.#now();
  }

  /** Renews the activity record, so a revocation file that cannot be written shows as down. */
  async ping(): Promise<void> {
    if (this.#revocations !== undefined && !this.#closed) this.#renewActivity(this.#now());
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#activityTimer);
    this.#revocations?.close();
    this.#nonces.clear();
    this.#revoked.clear();
    this.#counters.clear();
  }

  /** Number of entries currently held, expired ones included until the next purge. */
  get size(): number {
    return this.#nonces.size + this.#revoked.size;
  }

  #renewActivity(now: number): void {
    const until = now + 2 * ACTIVITY_RENEWAL_MS;
    try {
      this.#revocations?.recordActiveUntil(until);
    } catch (error) {
      throw new StoreUnavailableError(
        'unreachable',
        `revocation file write failed: ${(error as Error).message}`,
      );
    }
    this.#activeUntilMs = until;
  }

  /** Converts a stored nonce expiry (ticks after #epochMs) to epoch milliseconds. */
  #expiryMs(ticks: number): number {
    return this.#epochMs + ticks * TICK_MS;
  }

  #isLiveNonce(key: string, now: number): boolean {
    const expiresAt = this.#nonces.get(key);
    return expiresAt !== undefined && this.#expiryMs(expiresAt) > now;
  }

  #storeNonce(key: string, ttlSeconds: number, now: number): void {
    // The timer renews the record well ahead. This write happens only when the event loop
    // was stalled for longer than that lead.
    if (this.#revocations !== undefined && now >= this.#activeUntilMs - ACTIVITY_RENEWAL_MS / 2)
      this.#renewActivity(now);
    this.#purgeIfDue(now);
    if (this.size >= this.#maxEntries) {
      throw new StoreUnavailableError(
        'full',
        `replay store is full at ${this.#maxEntries} entries`,
      );
    }
    this.#nonces.delete(key);
    // Rounding up keeps a nonce at most 0.1 s longer than its TTL, never shorter.
    this.#nonces.set(key, Math.ceil((now - this.#epochMs + ttlSeconds * 1000) / TICK_MS));
  }

  /** Returns the counter for `key`, starting a new window when the old one has ended. */
  #counter(key: string, windowSeconds: number, now: number): Counter {
    let counter = this.#counters.get(key);
    if (counter === undefined) {
      if (this.#counters.size >= this.#maxCounters) this.#evictOldestCounter();
      counter = { count: 0, resetAt: now + windowSeconds * 1000, lockedUntil: 0 };
      this.#counters.set(key, counter);
      return counter;
    }

    if (counter.resetAt <= now) {
      counter.count = 0;
      counter.resetAt = now + windowSeconds * 1000;
      // Re-inserting moves the key to the end, so iteration order stays oldest window first.
      this.#counters.delete(key);
      this.#counters.set(key, counter);
    }
    return counter;
  }

  // NOTE: dropping the oldest counter can end a lockout early when more than maxCounters keys
  // are attacked at once; the Redis store has no such bound.
  #evictOldestCounter(): void {
    const oldest = this.#counters.keys().next().value;
    if (oldest !== undefined) this.#counters.delete(oldest);
  }

  // A full scan costs O(entries), so it runs at most once a second, and then only when the
  // store is at least half full; a flood at the bound cannot make every request pay for it.
  #purgeIfDue(now: number): void {
    if (this.size < this.#maxEntries / 2 || now - this.#lastPurge < 1000) return;
    this.#lastPurge = now;
    for (const [key, expiresAt] of this.#nonces) {
      if (this.#expiryMs(expiresAt) <= now) this.#nonces.delete(key);
    }
    for (const [key, until] of this.#revoked) {
      if (until <= now) this.#revoked.delete(key);
    }
  }
}

const TICK_MS = 100;
// How often the revocation file's activity record is renewed. Each renewal covers two periods.
const ACTIVITY_RENEWAL_MS = 1000;

// Length-prefix the scope so ("a:b", "c") and ("a", "b:c") never collide. The key is copied
// into one flat string, because a concatenation keeps its pieces alive (V8 cons strings) and a
// nonce sliced from a header would keep the whole header alive.
function nonceKey(scope: string, nonce: string): string {
  return flatCopy(`${scope.length}:${scope}:${nonce}`);
}

function flatCopy(text: string): string {
  const copy = Buffer.from(text, 'latin1').toString('latin1');
  // Latin-1 keeps code units up to 0xFF only, so other text stays as it is, uncopied.
  return copy === text ? copy : text;
}

function secondsUntil(time: number, now: number): number {
  return Math.max(1, Math.ceil((time - now) / 1000));
}
