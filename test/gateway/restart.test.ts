import { rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { RampartClient } from '../../src/client/rampart-client.js';
import { createGateway, type Gateway } from '../../src/gateway/create-gateway.js';
import { SqliteUserStore } from '../../src/session/user-store.js';
import {
  startGatewayHarness,
  TEST_PASSWORD,
  type GatewayHarness,
} from '../helpers/gateway-harness.js';
import { sendRaw } from '../helpers/raw-http.js';
import {
  loginSession,
  sendSigned,
  type SignedRawRequest,
  type TestSession,
} from '../helpers/signing-session.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const nowSeconds = () => Math.floor(Date.now() / 1000);
const MAX_FUTURE_SECONDS = 2;

// A gateway with a short maxFutureSeconds, so the window after a restart passes quickly.
function startShortWindowHarness(): Promise<GatewayHarness> {
  return startGatewayHarness({
    signature: { maxAgeSeconds: 30, maxFutureSeconds: MAX_FUTURE_SECONDS, maxValiditySeconds: 60 },
  });
}

// Starts a new gateway on the closed harness gateway's port, data folder and keys.
async function restartOnSamePort(harness: GatewayHarness): Promise<Gateway> {
  // Lets the client's pooled keep-alive sockets see the close before the port is reused.
  await sleep(200);
  const restarted = await createGateway(
    { ...harness.config, listen: { host: '127.0.0.1', port: harness.port } },
    {
      keys: harness.keys,
      userStore: new SqliteUserStore(join(harness.dir, 'users.sqlite')),
      logger: false,
      env: {},
    },
  );
  await restarted.app.listen({ host: '127.0.0.1', port: harness.port });
  expect((restarted.app.server.address() as AddressInfo).port).toBe(harness.port);
  return restarted;
}

// Sends a request signed as by a client whose clock runs ahead, with the latest created the
// gateway accepts, and returns it for replay.
async function sendFutureDated(
  harness: GatewayHarness,
  session: TestSession,
): Promise<SignedRawRequest> {
  let sent: SignedRawRequest | undefined;
  const response = await sendSigned(harness.url, session, {
    method: 'GET',
    target: '/api/items',
    created: nowSeconds() + MAX_FUTURE_SECONDS,
    after: (request) => void (sent = request),
  });
  expect(response.status).toBe(200);
  return sent as SignedRawRequest;
}

describe('gateway restart with embedded stores', () => {
  it('keeps logouts and rejects signatures used before the restart', async () => {
    const harness = await startShortWindowHarness();
    const session = await loginSession(harness.url, 'alice', TEST_PASSWORD);
    const other = await loginSession(harness.url, 'alice', TEST_PASSWORD);
    let captured: SignedRawRequest | undefined;
    const used = await sendSigned(harness.url, other, {
      method: 'GET',
      target: '/api/items',
      after: (request) => void (captured = request),
    });
    expect(used.status).toBe(200);
    const futureDated = await sendFutureDated(harness, other);
    const logout = await sendSigned(harness.url, session, {
      method: 'POST',
      target: '/auth/logout',
      body: '{}',
      idempotencyKey: null,
    });
    expect(logout.status).toBe(200);

    await harness.gateway.close();
    const stoppedAt = nowSeconds();
    const restarted = await restartOnSamePort(harness);
    try {
      const before = harness.upstream.calls.length;

      const earlyAt = nowSeconds();
      const early = await sendSigned(harness.url, other, { method: 'GET', target: '/api/items' });
      const replayedEarly = await sendRaw(harness.url, futureDated);

      expect(early.status).toBe(503);
      expect(early.json.code).toBe('store_starting');
      expect(Number(early.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(replayedEarly.status).toBe(503);
      expect(replayedEarly.json.code).toBe('store_starting');

      // The stopped process's last renewal reached at most two seconds past the stop.
      const firstSafeSecond = earlyAt + Number(early.headers['retry-after']);
      expect(firstSafeSecond).toBeLessThanOrEqual(stoppedAt + 3 + MAX_FUTURE_SECONDS);
      // The SDK waits out the Retry-After of store_starting and signs again by itself.
      const client = new RampartClient({ baseUrl: harness.url });
      await client.login('alice', TEST_PASSWORD);
      const waited = await client.fetch('/api/items');

      expect(waited.status).toBe(200);
      expect(nowSeconds()).toBeGreaterThanOrEqual(firstSafeSecond);

      const revoked = await sendSigned(harness.url, session, {
        method: 'GET',
        target: '/api/items',
      });
      const replayed = await sendRaw(harness.url, captured!);
      const replayedFuture = await sendRaw(harness.url, futureDated);
      const fresh = await sendSigned(harness.url, other, { method: 'GET', target: '/api/items' });

      expect(revoked.status).toBe(401);
      expect(revoked.json.code).toBe('session_revoked');
      expect(replayed.status).toBe(401);
      expect(replayed.json.code).toBe('clock_skew');
      expect(replayedFuture.status).toBe(401);
      expect(replayedFuture.json.code).toBe('clock_skew');
      expect(fresh.status).toBe(200);
      expect(harness.upstream.calls.length).toBe(before + 2);
    } finally {
      await restarted.close();
      await harness.upstream.close();
      rmSync(harness.dir, { recursive: true, force: true });
    }
  });

  it('guards from its start when the revocation file was lost', async () => {
    const harness = await startShortWindowHarness();
    const session = await loginSession(harness.url, 'alice', TEST_PASSWORD);
    const futureDated = await sendFutureDated(harness, session);

    await harness.gateway.close();
    for (const suffix of ['', '-wal', '-shm'])
      rmSync(join(harness.dir, `revocations.sqlite${suffix}`), { force: true });
    const restarted = await restartOnSamePort(harness);
    try {
      const before = harness.upstream.calls.length;

      const replayed = await sendRaw(harness.url, futureDated);

      expect(replayed.status).toBe(503);
      expect(replayed.json.code).toBe('store_starting');
      expect(harness.upstream.calls.length).toBe(before);
    } finally {
      await restarted.close();
      await harness.upstream.close();
      rmSync(harness.dir, { recursive: true, force: true });
    }
  });
});
