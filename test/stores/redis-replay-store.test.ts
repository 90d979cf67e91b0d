import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { RedisReplayStore } from '../../src/replay/redis-replay-store.js';
import { StoreUnavailableError } from '../../src/replay/replay-store.js';
import { startOwnRedis, uniqueKeyPrefix, type OwnRedis } from '../helpers/stores.js';

// These tests stop and pause Redis, so they run against a redis-server of their own on a
// spare port, never the shared one.
let redis: OwnRedis;

beforeAll(async () => {
  redis = await startOwnRedis();
});

afterAll(async () => {
  await redis.stop();
});

async function openStore(commandTimeoutMs = 200): Promise<RedisReplayStore> {
  const store = new RedisReplayStore({
    url: redis.url,
    keyPrefix: uniqueKeyPrefix(),
    commandTimeoutMs,
    maxReconnectDelayMs: 200,
  });
  await store.waitUntilReady(2000);
  return store;
}

async function rejection(promise: Promise<unknown>): Promise<StoreUnavailableError> {
  const error: unknown = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof StoreUnavailableError)) {
    throw new Error(`Expected a StoreUnavailableError; received ${String(error)}`);
  }
  return error;
}

describe('RedisReplayStore against its own redis-server', () => {
  it('writes every key under its prefix', async () => {
    const prefix = uniqueKeyPrefix();
    const store = new RedisReplayStore({ url: redis.url, keyPrefix: prefix });
    await store.waitUntilReady(2000);
    await store.claimNonce('sid', 'n1', 60);
    await store.revokeSession('sid', Math.floor(Date.now() / 1000) + 60);
    await store.admitRequest({
      scope: 'sid',
      nonce: 'n2',
      nonceTtlSeconds: 60,
      rateLimit: { key: 'session:sid', maxRequests: 5, windowSeconds: 60 },
    });
    await store.consumeAttempts([
      { key: 'login:x', maxAttempts: 1, windowSeconds: 60, lockoutSeconds: 60 },
    ]);

    const admin = new Redis(redis.url);
    const keys = await admin.keys('*');
    const ttls = await Promise.all(keys.map((key) => admin.pttl(key)));
    admin.disconnect();
    await store.close();

    const ours = keys.filter((key) => key.startsWith(prefix));
    expect(ours.length).toBeGreaterThanOrEqual(5);
    expect(ours.every((key) => key.startsWith(prefix))).toBe(true);
    expect(ttls.every((ttl) => ttl > 0)).toBe(true);
  });

  it('rejects at once with unreachable while the server is down, then recovers', async () => {
    const store = await openStore();
    await redis.stop();
    try {
      const started = Date.now();
      const error = await rejection(store.claimNonce('sid', 'n1', 60));

      expect(error.reason).toBe('unreachable');
      expect(Date.now() - started).toBeLessThan(500);
      await expect(store.isSessionRevoked('sid')).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
    } finally {
      await redis.start();
    }

    expect(await store.waitUntilReady(5000)).toBe(true);
    expect(await store.claimNonce('sid', 'n2', 60)).toBe(true);
    await store.close();
  });

  it('times out a command the server does not answer', async () => {
    const store = await openStore(150);
    const admin = new Redis(redis.url);
    // CLIENT PAUSE suspends every client's commands, as a stuck server would.
    await admin.call('CLIENT', 'PAUSE', '1000', 'ALL');
    try {
      const started = Date.now();
      const error = await rejection(store.claimNonce('sid', 'n1', 60));

      expect(error.reason).toBe('timeout');
      expect(Date.now() - started).toBeLessThan(900);
      expect(error.message).toBe('Redis SET failed: Command timed out');
    } finally {
      await admin.call('CLIENT', 'UNPAUSE');
      admin.disconnect();
    }

    // The timed-out claim may have reached the server; a new nonce still works.
    expect(await store.claimNonce('sid', 'n3', 60)).toBe(true);
    await store.close();
  });

  it('closes while the server is down', async () => {
    const store = await openStore();
    await redis.stop();
    try {
      await expect(store.close()).resolves.toBeUndefined();
      await expect(store.close()).resolves.toBeUndefined();
    } finally {
      await redis.start();
    }
  });

  it('rejects a URL of another scheme without echoing it', () => {
    const create = () => new RedisReplayStore({ url: 'http://user:s3cret@127.0.0.1:1' });

    expect(create).toThrow(TypeError);
    expect(create).toThrow(/REDIS_URL/);
    expect(create).not.toThrow(/s3cret/);
  });

  it('rejects a command timeout that is not a positive whole number', () => {
    expect(() => new RedisReplayStore({ url: redis.url, commandTimeoutMs: 0 })).toThrow(
      'Option "commandTimeoutMs" must be a positive whole number of milliseconds; received 0.',
    );
  });
});
