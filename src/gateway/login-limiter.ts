/**
 * Counts failed logins per username in a fixed window and blocks the username once the limit
 * is reached, so a password cannot be guessed online at argon2 speed.
 *
 * NOTE: the counters live in this process; several gateway instances each allow the limit.
 */
export class LoginLimiter {
  readonly #maxFailures: number;
  readonly #windowMs: number;
  readonly #failures = new Map<string, { count: number; windowStart: number }>();
  readonly #maxTracked: number;

  constructor(options: { maxFailures: number; windowSeconds: number; maxTracked?: number }) {
    this.#maxFailures = options.maxFailures;
    this.#windowMs = options.windowSeconds * 1000;
    this.#maxTracked = options.maxTracked ?? 100_000;
  }

  /** Returns the seconds to wait when `username` is blocked, or 0 when a login may be tried. */
  retryAfter(username: string, now = Date.now()): number {
    const entry = this.#failures.get(username);
    if (entry === undefined || now - entry.windowStart >= this.#windowMs) return 0;
    if (entry.count < this.#maxFailures) return 0;
    return Math.ceil((entry.windowStart + this.#windowMs - now) / 1000);
  }

  recordFailure(username: string, now = Date.now()): void {
    const entry = this.#failures.get(username);
    if (entry === undefined || now - entry.windowStart >= this.#windowMs) {
      if (this.#failures.size >= this.#maxTracked) this.#dropExpired(now);
      this.#failures.set(username, { count: 1, windowStart: now });
      return;
    }
    entry.count += 1;
  }

  recordSuccess(username: string): void {
    this.#failures.delete(username);
  }

  #dropExpired(now: number): void {
    for (const [username, entry] of this.#failures) {
      if (now - entry.windowStart >= this.#windowMs) this.#failures.delete(username);
    }
    // Still full: forget the oldest window rather than grow without bound.
    if (this.#failures.size >= this.#maxTracked) {
      const oldest = this.#failures.keys().next().value;
      if (oldest !== undefined) this.#failures.delete(oldest);
    }
  }
}
