import { Redis } from 'ioredis';

import type {
  Admission,
  AdmitRequest,
  AttemptLimit,
  AttemptRelease,
  RateLimitStore,
} from './rate-limit-store.js';
import { type ReplayStore, type StoreLogger, StoreUnavailableError } from './replay-store.js';
import { ADMIT_SCRIPT, CONSUME_ATTEMPTS_SCRIPT, RELEASE_ATTEMPTS_SCRIPT } from './redis-scripts.js';

/** Options of {@link RedisReplayStore}. */
export interface RedisReplayStoreOptions {
  /** `redis://` or `rediss://` URL, usually from `REDIS_URL`. It is never logged. */
  url: string;
  /** Time a command may take before it fails with `timeout`, in milliseconds. Default 1000. */
  commandTimeoutMs?: number;
  /** Time a connection attempt may take, in milliseconds. Default 2000. */
  connectTimeoutMs?: number;
  /** Prefix of every key, so several deployments can share one database. Default `rampart:`. */
  keyPrefix?: string;
  /** Maximum wait between reconnection attempts, in milliseconds. Default 2000. */
  maxReconnectDelayMs?: number;
  /** Receives connection events; the gateway passes its pino logger. Default: no logging. */
  logger?: StoreLogger;
}

const DEFAULTS = {
  commandTimeoutMs: 1000,
  connectTimeoutMs: 2000,
  keyPrefix: 'rampart:',
  maxReconnectDelayMs: 2000,
} as const;

/** Lua commands registered with `defineCommand`; ioredis sends them by SHA (EVALSHA). */
interface ScriptCommands {
  rampartAdmit(...args: Array<string | number>): Promise<[number, number]>;
  rampartConsumeAttempts(...args: Array<string | number>): Promise<number>;
  rampartReleaseAttempts(...args: Array<string | number>): Promise<number>;
}

/**
 * Replay store and rate limiter in Redis, shared by every gateway instance.
 *
 * Each call is one command or one Lua script, so it is atomic and costs one round trip. Every
 * command has a timeout. A command that times out or finds no connection rejects with
 * `StoreUnavailableError` at once. Commands are never queued while disconnected and never resent
 * after a reconnect, because a late nonce claim must not count for a request that has already
 * failed. The client reconnects with exponential backoff until `close()`.
 *
 * NOTE: Redis keeps nonces and revocations in memory. Without persistence (AOF), a Redis
 * restart forgets them: a logged-out token works again until it expires, and a request seen
 * in the last signature window can be replayed once.
 */
export class RedisReplayStore implements ReplayStore, RateLimitStore {
  readonly #client: Redis & ScriptCommands;
  readonly #prefix: string;
  readonly #logger: StoreLogger | undefined;
  #connected = false;
  #lastError: string | undefined;

  /** Starts connecting in the background; calls fail with `unreachable` until it is ready. */
  constructor(options: RedisReplayStoreOptions) {
    validateOptions(options);
    this.#prefix = options.keyPrefix ?? DEFAULTS.keyPrefix;
    this.#logger = options.logger;
    const maxReconnectDelayMs = options.maxReconnectDelayMs ?? DEFAULTS.maxReconnectDelayMs;

    const client = new Redis(options.url, {
      commandTimeout: options.commandTimeoutMs ?? DEFAULTS.commandTimeoutMs,
      connectTimeout: options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      // 100 ms, 200 ms, 400 ms ... up to the maximum, for as long as the store is open.
      retryStrategy: (attempt) => Math.min(100 * 2 ** (attempt - 1), maxReconnectDelayMs),
    });
    client.defineCommand('rampartAdmit', { lua: ADMIT_SCRIPT });
    client.defineCommand('rampartConsumeAttempts', { lua: CONSUME_ATTEMPTS_SCRIPT });
    client.defineCommand('rampartReleaseAttempts', { lua: RELEASE_ATTEMPTS_SCRIPT });
    this.#client = client as Redis & ScriptCommands;
    this.#watchConnection();
  }

  /**
   * Resolves once the connection is ready, or after `timeoutMs` even when it is not; the store
   * keeps reconnecting in the background either way. Returns whether it is connected.
   */
  async waitUntilReady(timeoutMs: number): Promise<boolean> {
    if (this.#client.status === 'ready') return true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#client.off('ready', onReady);
        resolve(false);
      }, timeoutMs);
      const onReady = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.#client.once('ready', onReady);
    });
  }

  async claimNonce(scope: string, nonce: string, ttlSeconds: number): Promise<boolean> {
    const key = this.#nonceKey(scope, nonce);
    const result = await this.#run('SET', () =>
      this.#client.set(key, '1', 'PX', Math.ceil(ttlSeconds * 1000), 'NX'),
    );
    return result === 'OK';
  }

  async admitRequest(request: AdmitRequest): Promise<Admission> {
    const nonceKey = this.#nonceKey(request.scope, request.nonce);
    const nonceTtlMs = Math.ceil(request.nonceTtlSeconds * 1000);
    const limit = request.rateLimit;
    if (limit === undefined) {
      const fresh = await this.claimNonce(request.scope, request.nonce, request.nonceTtlSeconds);
      return fresh ? { outcome: 'admitted' } : { outcome: 'replayed' };
    }

    const [status, ttlMs] = await this.#run('EVALSHA admit', () =>
      this.#client.rampartAdmit(
        2,
        nonceKey,
        `${this.#prefix}request:${limit.key}`,
        nonceTtlMs,
        limit.maxRequests,
        limit.windowSeconds * 1000,
      ),
    );
    if (status === 1) return { outcome: 'replayed' };
    if (status === 2) return { outcome: 'rate_limited', retryAfterSeconds: toSeconds(ttlMs) };
    return { outcome: 'admitted' };
  }

  async consumeAttempts(limits: readonly AttemptLimit[]): Promise<number> {
    if (limits.length === 0) return 0;
    const keys: string[] = [];
    const args: number[] = [];
    for (const limit of limits) {
      keys.push(`${this.#prefix}attempts:${limit.key}`, `${this.#prefix}lockout:${limit.key}`);
      args.push(limit.maxAttempts, limit.windowSeconds * 1000, limit.lockoutSeconds * 1000);
    }
    const lockedMs = await this.#run('EVALSHA consume-attempts', () =>
      this.#client.rampartConsumeAttempts(keys.length, ...keys, ...args),
    );
    return lockedMs > 0 ? toSeconds(lockedMs) : 0;
  }

  async releaseAttempts(releases: readonly AttemptRelease[]): Promise<void> {
    if (releases.length === 0) return;
    const keys = releases.map((release) => `${this.#prefix}attempts:${release.key}`);
    const args = releases.map((release) => (release.reset ? '1' : '0'));
    await this.#run('EVALSHA release-attempts', () =>
      this.#client.rampartReleaseAttempts(keys.length, ...keys, ...args),
    );
  }

  async revokeSession(sessionId: string, untilSeconds: number): Promise<void> {
    // EXAT lets Redis drop the revocation when the last token of the session has expired.
    if (untilSeconds * 1000 <= Date.now()) return;
    await this.#run('SET', () =>
      this.#client.set(`${this.#prefix}revoked:${sessionId}`, '1', 'EXAT', untilSeconds),
    );
  }

  async isSessionRevoked(sessionId: string): Promise<boolean> {
    const count = await this.#run('EXISTS', () =>
      this.#client.exists(`${this.#prefix}revoked:${sessionId}`),
    );
    return count > 0;
  }

  async ping(): Promise<void> {
    await this.#run('PING', () => this.#client.ping());
  }

  /** Closes the connection and stops reconnecting. A second call does nothing. */
  async close(): Promise<void> {
    if (this.#client.status === 'end') return;
    try {
      await this.#client.quit();
    } catch {
      // QUIT cannot be sent while disconnected; dropping the socket is enough then.
      this.#client.disconnect();
    }
  }

  // Length-prefix the scope so ("a:b", "c") and ("a", "b:c") never collide.
  #nonceKey(scope: string, nonce: string): string {
    return `${this.#prefix}nonce:${scope.length}:${scope}:${nonce}`;
  }

  /** Runs one command and turns any failure into `StoreUnavailableError`. */
  async #run<T>(command: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const reason = /timed out/i.test(message) ? 'timeout' : 'unreachable';
      throw new StoreUnavailableError(reason, `Redis ${command} failed: ${message}`, {
        cause: error,
      });
    }
  }

  // Logs each change of connection state once, so an outage gives two lines, not one per retry.
  #watchConnection(): void {
    this.#client.on('ready', () => {
      this.#connected = true;
      this.#lastError = undefined;
      this.#logger?.info({ store: 'redis' }, 'Redis connection ready');
    });
    this.#client.on('error', (error: Error) => {
      if (this.#lastError === error.message) return;
      this.#lastError = error.message;
      this.#logger?.error({ store: 'redis', err: error }, 'Redis connection error');
    });
    this.#client.on('close', () => {
      if (!this.#connected) return;
      this.#connected = false;
      this.#logger?.warn({ store: 'redis' }, 'Redis connection lost; reconnecting with backoff');
    });
  }
}

function toSeconds(milliseconds: number): number {
  return Math.max(1, Math.ceil(milliseconds / 1000));
}

function validateOptions(options: RedisReplayStoreOptions): void {
  if (typeof options.url !== 'string' || !/^rediss?:\/\//.test(options.url)) {
    throw new TypeError(
      'Option "url" must be a redis:// or rediss:// URL; check REDIS_URL (its value is not shown here).',
    );
  }
  for (const name of ['commandTimeoutMs', 'connectTimeoutMs', 'maxReconnectDelayMs'] as const) {
    const value = options[name];
    if (value !== undefined && !(Number.isSafeInteger(value) && value > 0)) {
      throw new TypeError(
        `Option "${name}" must be a positive whole number of milliseconds; received ${String(value)}.`,
      );
    }
  }
}
