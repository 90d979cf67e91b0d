import { createHash } from 'node:crypto';
import { isIPv6 } from 'node:net';

import { RampartError } from '../errors.js';
import type { AttemptLimit, RateLimitStore } from '../replay/rate-limit-store.js';

/** Limits of {@link LoginLimiter}, as the `login` configuration section sets them. */
export interface LoginLimits {
  /** Failed or running attempts allowed per account within the window. */
  maxFailures: number;
  /** Failed or running attempts allowed per client address within the window. */
  maxFailuresPerAddress: number;
  /** Length of the counting window in seconds. */
  windowSeconds: number;
  /** How long an account or address stays locked once over its limit, in seconds. */
  lockoutSeconds: number;
}

/**
 * Limits login attempts per account and per client address, in the shared rate-limit store,
 * so the limits hold across every gateway instance and a password cannot be guessed online at
 * argon2 speed.
 *
 * An attempt is counted before the password is checked, so a burst of concurrent guesses
 * cannot all pass the check before the first failure is recorded. A successful login resets
 * the account's count and gives its attempt back to the address, so the counts are of failed
 * attempts, and many users behind one address do not lock each other out.
 */
export class LoginLimiter {
  readonly #store: RateLimitStore;
  readonly #limits: LoginLimits;

  constructor(store: RateLimitStore, limits: LoginLimits) {
    this.#store = store;
    this.#limits = limits;
  }

  /**
   * Counts one attempt for `username` from `address`.
   *
   * @throws RampartError `login_rate_limited` with `retryAfter` when either is locked out.
   * @throws StoreUnavailableError when the store cannot be reached.
   */
  async begin(username: string, address: string): Promise<void> {
    const { windowSeconds, lockoutSeconds } = this.#limits;
    const limits: AttemptLimit[] = [
      {
        key: accountKey(username),
        maxAttempts: this.#limits.maxFailures,
        windowSeconds,
        lockoutSeconds,
      },
      {
        key: addressKey(address),
        maxAttempts: this.#limits.maxFailuresPerAddress,
        windowSeconds,
        lockoutSeconds,
      },
    ];
    const retryAfter = await this.#store.consumeAttempts(limits);
    if (retryAfter > 0) throw new RampartError('login_rate_limited', { retryAfter });
  }

  /**
   * Gives the attempt back after a successful login.
   *
   * @throws StoreUnavailableError when the store cannot be reached.
   */
  async succeeded(username: string, address: string): Promise<void> {
    await this.#store.releaseAttempts([
      { key: accountKey(username), reset: true },
      { key: addressKey(address), reset: false },
    ]);
  }
}

// The key contains a hash, not the name: people type passwords into the username field, and the
// store must not keep them.
function accountKey(username: string): string {
  return `login-account:${createHash('sha256').update(username, 'utf8').digest('hex').slice(0, 32)}`;
}

// One IPv6 host usually owns a whole /64, so IPv6 addresses are counted per /64 prefix.
function addressKey(address: string): string {
  return `login-address:${isIPv6(address) ? ipv6Prefix64(address) : address}`;
}

/** Returns the first four 16-bit groups of an IPv6 address, expanded, such as `2001:db8:0:1`. */
export function ipv6Prefix64(address: string): string {
  const zoneless = address.split('%')[0] as string;
  const [head = '', tail] = zoneless.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...Array<string>(Math.max(0, missing)).fill('0'), ...tailGroups];
  return groups
    .slice(0, 4)
    .map((group) => (Number.parseInt(group, 16) || 0).toString(16))
    .join(':');
}
