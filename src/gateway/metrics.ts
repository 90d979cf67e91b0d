import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

import type { StoreFailureReason } from '../replay/replay-store.js';
import type { StoreName } from './store-health.js';

/**
 * Prometheus metrics of one gateway, in a registry of its own so that several gateways in one
 * process (tests, the Fastify plugin next to other apps) never share counters.
 *
 * - `rampart_decisions_total{decision, code}`: requests the gateway decided on, by outcome
 *   (`allowed` or `rejected`) and registry code (`none` when allowed).
 * - `rampart_store_errors_total{store, reason}`: failed store calls, by store (`replay`,
 *   `users`, `audit`) and reason (`unreachable`, `timeout`, `full`).
 * - `rampart_store_up{store}`: 1 while the store responds, 0 while it is down.
 * - `rampart_request_duration_seconds{method, status}`: time from the first byte of a request
 *   to the end of its response.
 * - unless turned off, the default Node.js process metrics of prom-client, with the
 *   `rampart_` prefix.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly #decisions: Counter<'decision' | 'code'>;
  readonly #storeErrors: Counter<'store' | 'reason'>;
  readonly #storeUp: Gauge<'store'>;
  readonly #duration: Histogram<'method' | 'status'>;
  readonly #rejections = new WeakMap<object, string>();

  /** @param options.processMetrics also collect the Node.js process metrics. Default true. */
  constructor(options: { processMetrics?: boolean } = {}) {
    this.#decisions = new Counter({
      name: 'rampart_decisions_total',
      help: 'Requests the gateway decided on, by decision and problem code.',
      labelNames: ['decision', 'code'],
      registers: [this.registry],
    });
    this.#storeErrors = new Counter({
      name: 'rampart_store_errors_total',
      help: 'Store calls that failed, by store and reason.',
      labelNames: ['store', 'reason'],
      registers: [this.registry],
    });
    this.#storeUp = new Gauge({
      name: 'rampart_store_up',
      help: '1 while the store responds, 0 while it is down.',
      labelNames: ['store'],
      registers: [this.registry],
    });
    this.#duration = new Histogram({
      name: 'rampart_request_duration_seconds',
      help: 'Time from receiving a request to finishing its response, in seconds.',
      labelNames: ['method', 'status'],
      // From 1 ms, a verified call without upstream work, to 10 s, the default upstream timeout.
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    for (const store of ['replay', 'users', 'audit'] as const) this.#storeUp.set({ store }, 1);
    if (options.processMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry, prefix: 'rampart_' });
    }
  }

  /** Counts one decision. */
  decision(decision: 'allowed' | 'rejected', code = 'none'): void {
    this.#decisions.inc({ decision, code });
  }

  /** Remembers the problem code `request` was rejected with, for `rejectionCode`. */
  noteRejection(request: object, code: string): void {
    this.#rejections.set(request, code);
  }

  /** Returns the code `request` was rejected with, or undefined when it was not rejected. */
  rejectionCode(request: object): string | undefined {
    return this.#rejections.get(request);
  }

  /** Counts one failed store call. */
  storeError(store: StoreName, reason: StoreFailureReason): void {
    this.#storeErrors.inc({ store, reason });
  }

  /** Records that a store went down or came back. */
  storeState(store: StoreName, state: 'up' | 'down'): void {
    this.#storeUp.set({ store }, state === 'up' ? 1 : 0);
  }

  /** Records the duration of one request, in seconds. */
  requestDuration(method: string, status: number, seconds: number): void {
    this.#duration.observe({ method, status: String(status) }, seconds);
  }

  /** Renders every metric in the Prometheus text format. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** Content type of `render()`'s output. */
  get contentType(): string {
    return this.registry.contentType;
  }
}
