import { randomUUID } from 'node:crypto';

import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { MemoryReplayStore } from '../../src/replay/memory-replay-store.js';
import type { GatewayStateStore } from '../../src/replay/rate-limit-store.js';
import { RedisReplayStore } from '../../src/replay/redis-replay-store.js';
import { requireRedis, TEST_REDIS_URL, uniqueKeyPrefix } from '../helpers/stores.js';

/** One implementation under the contract: how to open a fresh, empty store. */
interface Implementation {
  name: string;
  open(): Promise<GatewayStateStore>;
}

const implementations: Implementation[] = [
  { name: 'MemoryReplayStore', open: async () => new MemoryReplayStore() },
  {
    name: 'RedisReplayStore',
    open: async () => {
      const store = new RedisReplayStore({ url: TEST_REDIS_URL, keyPrefix: uniqueKeyPrefix() });
      if (!(await store.waitUntilReady(2000))) throw new Error('Redis did not become ready');
      return store;
    },
  },
];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  await requireRedis();
});

describe.each(implementations)('$name (ReplayStore contract)', ({ open }) => {
  let store: GatewayStateStore;

  beforeEach(async () => {
    store = await open();
  });

  afterEach(async () => {
    await store.close();
  });

  it('claims a nonce once per scope', async () => {
    expect(await store.claimNonce('session-a', 'n1', 60)).toBe(true);
    expect(await store.claimNonce('session-a', 'n1', 60)).toBe(false);
    expect(await store.claimNonce('session-b', 'n1', 60)).toBe(true);
  });

  it('keeps scopes apart when they contain the separator', async () => {
    expect(await store.claimNonce('a:b', 'c', 60)).toBe(true);
    expect(await store.claimNonce('a', 'b:c', 60)).toBe(true);
  });

  it('claims exactly one of 200 concurrent identical nonces', async () => {
    const results = await Promise.all(
      Array.from({ length: 200 }, () => store.claimNonce('s', 'same', 60)),
    );

    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('forgets a nonce after its TTL', async () => {
    expect(await store.claimNonce('s', 'short', 0.3)).toBe(true);
    expect(await store.claimNonce('s', 'short', 0.3)).toBe(false);

    await sleep(450);
    expect(await store.claimNonce('s', 'short', 0.3)).toBe(true);
  });

  it('revokes a session until the given time', async () => {
    const until = Math.floor(Date.now() / 1000) + 2;
    await store.revokeSession('sid-1', until);

    expect(await store.isSessionRevoked('sid-1')).toBe(true);
    expect(await store.isSessionRevoked('sid-2')).toBe(false);

    await sleep(until * 1000 - Date.now() + 100);
    expect(await store.isSessionRevoked('sid-1')).toBe(false);
  }, 10_000);

  it('ignores a revocation that has already lapsed', async () => {
    await store.revokeSession('sid-old', Math.floor(Date.now() / 1000) - 1);

    expect(await store.isSessionRevoked('sid-old')).toBe(false);
  });

  it('answers ping', async () => {
    await expect(store.ping()).resolves.toBeUndefined();
  });
});

describe.each(implementations)('$name (RateLimitStore contract)', ({ open }) => {
  let store: GatewayStateStore;

  beforeEach(async () => {
    store = await open();
  });

  afterEach(async () => {
    await store.close();
  });

  const request = (nonce: string, maxRequests = 100, windowSeconds = 60) => ({
    scope: 'sid',
    nonce,
    nonceTtlSeconds: 60,
    rateLimit: { key: 'session:sid', maxRequests, windowSeconds },
  });

  it('admits a request, then reports its nonce as replayed', async () => {
    expect(await store.admitRequest(request('n1'))).toEqual({ outcome: 'admitted' });
    expect(await store.admitRequest(request('n1'))).toEqual({ outcome: 'replayed' });
  });

  it('admits without a rate limit', async () => {
    const plain = { scope: 'sid', nonce: 'n1', nonceTtlSeconds: 60 };

    expect(await store.admitRequest(plain)).toEqual({ outcome: 'admitted' });
    expect(await store.admitRequest(plain)).toEqual({ outcome: 'replayed' });
  });

  it('shares nonces between claimNonce and admitRequest', async () => {
    expect(await store.claimNonce('sid', 'n1', 60)).toBe(true);

    expect(await store.admitRequest(request('n1'))).toEqual({ outcome: 'replayed' });
  });

  it('rate-limits the request after maxRequests', async () => {
    for (let i = 0; i < 3; i += 1) {
      expect((await store.admitRequest(request(`n${i}`, 3, 30))).outcome).toBe('admitted');
    }

    const limited = await store.admitRequest(request('n3', 3, 30));

    expect(limited.outcome).toBe('rate_limited');
    const retryAfter = limited.outcome === 'rate_limited' ? limited.retryAfterSeconds : 0;
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(30);
  });

  it('does not count a replayed nonce', async () => {
    await store.admitRequest(request('n1', 2));
    for (let i = 0; i < 5; i += 1) await store.admitRequest(request('n1', 2));

    expect(await store.admitRequest(request('n2', 2))).toEqual({ outcome: 'admitted' });
  });

  it('does not claim the nonce of a rate-limited request', async () => {
    await store.admitRequest(request('n1', 1, 1));
    expect((await store.admitRequest(request('n2', 1, 1))).outcome).toBe('rate_limited');

    await sleep(1100);
    expect(await store.admitRequest(request('n2', 1, 1))).toEqual({ outcome: 'admitted' });
  });

  it('counts each key separately', async () => {
    await store.admitRequest(request('n1', 1));
    const other = {
      ...request('n2', 1),
      rateLimit: { key: 'session:other', maxRequests: 1, windowSeconds: 60 },
    };

    expect(await store.admitRequest(other)).toEqual({ outcome: 'admitted' });
  });

  it('admits exactly maxRequests of 60 concurrent requests', async () => {
    const results = await Promise.all(
      Array.from({ length: 60 }, () => store.admitRequest(request(randomUUID(), 10))),
    );

    expect(results.filter((result) => result.outcome === 'admitted')).toHaveLength(10);
    expect(results.filter((result) => result.outcome === 'rate_limited')).toHaveLength(50);
  });

  const attempt = (key: string, maxAttempts = 3, lockoutSeconds = 60, windowSeconds = 60) => ({
    key,
    maxAttempts,
    windowSeconds,
    lockoutSeconds,
  });

  it('allows maxAttempts attempts, then locks the key out', async () => {
    for (let i = 0; i < 3; i += 1) {
      expect(await store.consumeAttempts([attempt('account:a')])).toBe(0);
    }

    const locked = await store.consumeAttempts([attempt('account:a', 3, 45)]);

    expect(locked).toBeGreaterThanOrEqual(44);
    expect(locked).toBeLessThanOrEqual(45);
    expect(await store.consumeAttempts([attempt('account:a')])).toBeGreaterThan(0);
  });

  it('ends the lockout after lockoutSeconds', async () => {
    await store.consumeAttempts([attempt('account:a', 1, 1)]);
    expect(await store.consumeAttempts([attempt('account:a', 1, 1)])).toBe(1);

    await sleep(1100);
    expect(await store.consumeAttempts([attempt('account:a', 1, 1)])).toBe(0);
  });

  it('counts nothing while any key is locked out', async () => {
    await store.consumeAttempts([attempt('address:x', 1)]);
    await store.consumeAttempts([attempt('address:x', 1)]);

    for (let i = 0; i < 5; i += 1) {
      expect(
        await store.consumeAttempts([attempt('account:b', 2), attempt('address:x', 1)]),
      ).toBeGreaterThan(0);
    }
    expect(await store.consumeAttempts([attempt('account:b', 2)])).toBe(0);
    expect(await store.consumeAttempts([attempt('account:b', 2)])).toBe(0);
  });

  it('locks out when any one of several limits is exceeded', async () => {
    await store.consumeAttempts([attempt('account:c', 5), attempt('address:y', 1)]);

    expect(
      await store.consumeAttempts([attempt('account:c', 5), attempt('address:y', 1)]),
    ).toBeGreaterThan(0);
  });

  it('resets a count on release with reset', async () => {
    await store.consumeAttempts([attempt('account:d', 2)]);
    await store.consumeAttempts([attempt('account:d', 2)]);
    await store.releaseAttempts([{ key: 'account:d', reset: true }]);

    expect(await store.consumeAttempts([attempt('account:d', 2)])).toBe(0);
    expect(await store.consumeAttempts([attempt('account:d', 2)])).toBe(0);
  });

  it('gives back one attempt on release without reset', async () => {
    await store.consumeAttempts([attempt('address:z', 2)]);
    await store.consumeAttempts([attempt('address:z', 2)]);
    await store.releaseAttempts([{ key: 'address:z', reset: false }]);

    expect(await store.consumeAttempts([attempt('address:z', 2)])).toBe(0);
    expect(await store.consumeAttempts([attempt('address:z', 2)])).toBeGreaterThan(0);
  });

  it('never releases a count below zero', async () => {
    await store.releaseAttempts([{ key: 'address:w', reset: false }]);
    await store.releaseAttempts([{ key: 'address:w', reset: false }]);

    expect(await store.consumeAttempts([attempt('address:w', 1)])).toBe(0);
    expect(await store.consumeAttempts([attempt('address:w', 1)])).toBeGreaterThan(0);
  });

  it('starts a new window after windowSeconds', async () => {
    await store.consumeAttempts([attempt('account:e', 1, 60, 1)]);

    await sleep(1100);
    expect(await store.consumeAttempts([attempt('account:e', 1, 60, 1)])).toBe(0);
  });

  it('allows exactly maxAttempts of 20 concurrent attempts', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, () => store.consumeAttempts([attempt('account:f', 5)])),
    );

    expect(results.filter((retryAfter) => retryAfter === 0)).toHaveLength(5);
  });
});
