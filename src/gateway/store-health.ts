import { RampartError, type StoreStatus } from '../errors.js';
import { StoreUnavailableError, type StoreFailureReason } from '../replay/replay-store.js';

/** The stores a gateway depends on. */
export type StoreName = 'replay' | 'users' | 'audit';

/** Every store name, in the order `/readyz` lists them. */
export const STORE_NAMES: readonly StoreName[] = ['replay', 'users', 'audit'];

/** Part of a store that the health tracker uses: a cheap check that it responds. */
export interface Pingable {
  ping(): Promise<void>;
}

/** Receives store failures, for metrics and logs. */
export interface StoreHealthListener {
  onFailure(store: StoreName, reason: StoreFailureReason, error: unknown): void;
  onStateChange(store: StoreName, state: 'up' | 'down'): void;
}

/** Options of {@link StoreHealth}. */
export interface StoreHealthOptions {
  /** Backend kind of each store, such as `redis` or `sqlite`, for `/readyz`. */
  backends: Record<StoreName, string>;
  /** The stores themselves, pinged while down. */
  stores: Record<StoreName, Pingable>;
  listener: StoreHealthListener;
  /** Time between pings of a store that is down, in milliseconds. Default 1000. */
  probeIntervalMs?: number;
}

/**
 * Tracks whether each store responds. A call that fails because its store is unreachable or
 * timed out marks the store down. The tracker then pings it in the background until it responds
 * and marks it up again, so the gateway recovers by itself. `full` does not mark a store down,
 * because the store still responds.
 */
export class StoreHealth {
  readonly #backends: Record<StoreName, string>;
  readonly #stores: Record<StoreName, Pingable>;
  readonly #listener: StoreHealthListener;
  readonly #probeIntervalMs: number;
  readonly #down = new Set<StoreName>();
  readonly #probes = new Map<StoreName, NodeJS.Timeout>();
  #closed = false;

  constructor(options: StoreHealthOptions) {
    this.#backends = options.backends;
    this.#stores = options.stores;
    this.#listener = options.listener;
    this.#probeIntervalMs = options.probeIntervalMs ?? 1000;
  }

  /** Returns whether `store` failed and has not responded since. */
  isDown(store: StoreName): boolean {
    return this.#down.has(store);
  }

  /** State of every store, as `/readyz` reports it. */
  statuses(): Record<StoreName, StoreStatus> {
    const statuses = {} as Record<StoreName, StoreStatus>;
    for (const name of STORE_NAMES) {
      statuses[name] = { backend: this.#backends[name], state: this.isDown(name) ? 'down' : 'up' };
    }
    return statuses;
  }

  /** Records a successful call to `store`. */
  recordSuccess(store: StoreName): void {
    if (!this.#down.delete(store)) return;
    this.#stopProbe(store);
    this.#listener.onStateChange(store, 'up');
  }

  /**
   * Records a failed call to `store` when `error` is a store failure, and returns whether it
   * was one. Other errors, such as an invalid audit entry, say nothing about the store.
   */
  recordFailure(store: StoreName, error: unknown): boolean {
    const reason = storeFailureReason(error);
    if (reason === undefined) return false;
    this.#listener.onFailure(store, reason, error);
    if (reason === 'full' || this.#down.has(store)) return true;

    this.#down.add(store);
    this.#listener.onStateChange(store, 'down');
    this.#startProbe(store);
    return true;
  }

  /**
   * Pings every store at once and records each result. Resolves when all have responded or
   * failed; a store's own timeout bounds the wait.
   */
  async check(): Promise<Record<StoreName, StoreStatus>> {
    await Promise.all(
      STORE_NAMES.map(async (name) => {
        try {
          await this.#stores[name].ping();
          this.recordSuccess(name);
        } catch (error) {
          // A ping that fails in an unexpected way still means the store cannot serve.
          if (!this.recordFailure(name, error)) {
            this.recordFailure(name, new StoreUnavailableError('unreachable', String(error)));
          }
        }
      }),
    );
    return this.statuses();
  }

  /** Stops every background ping. */
  close(): void {
    this.#closed = true;
    for (const name of [...this.#probes.keys()]) this.#stopProbe(name);
  }

  #startProbe(store: StoreName): void {
    if (this.#closed || this.#probes.has(store)) return;
    const timer = setInterval(() => {
      this.#stores[store].ping().then(
        () => this.recordSuccess(store),
        () => undefined,
      );
    }, this.#probeIntervalMs);
    // A probe must not keep a stopping process alive.
    timer.unref();
    this.#probes.set(store, timer);
  }

  #stopProbe(store: StoreName): void {
    clearInterval(this.#probes.get(store));
    this.#probes.delete(store);
  }
}

/**
 * Returns why `error` is a store failure, or undefined when it is not one. Stores raise
 * `StoreUnavailableError`; the audit logs raise `RampartError` `store_unavailable` with a
 * `StoreUnavailableError` or a database error as its cause.
 */
export function storeFailureReason(error: unknown): StoreFailureReason | undefined {
  if (error instanceof StoreUnavailableError) return error.reason;
  if (error instanceof RampartError && error.code === 'store_unavailable') {
    return error.cause instanceof StoreUnavailableError ? error.cause.reason : 'unreachable';
  }
  if (error instanceof RampartError && error.code === 'store_full') return 'full';
  return undefined;
}

/**
 * Wraps `store` so that every method call that returns a promise reports its outcome to
 * `health`. `close` is passed through unobserved. The wrapper calls methods on the store
 * itself, so private fields keep working.
 */
export function monitorStore<T extends object>(store: T, name: StoreName, health: StoreHealth): T {
  return new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function' || property === 'close') {
        return typeof value === 'function' ? value.bind(target) : value;
      }
      return (...args: unknown[]) => {
        const result: unknown = value.apply(target, args);
        if (!(result instanceof Promise)) return result;
        return result.then(
          (resolved: unknown) => {
            health.recordSuccess(name);
            return resolved;
          },
          (error: unknown) => {
            health.recordFailure(name, error);
            throw error;
          },
        );
      };
    },
  });
}
