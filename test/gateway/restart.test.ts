import { rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { createGateway } from '../../src/gateway/create-gateway.js';
import { SqliteUserStore } from '../../src/session/user-store.js';
import { startGatewayHarness, TEST_PASSWORD } from '../helpers/gateway-harness.js';
import { sendRaw } from '../helpers/raw-http.js';
import { loginSession, sendSigned } from '../helpers/signing-session.js';

describe('gateway restart with embedded stores', () => {
  it('keeps logouts and refuses signatures made before the restart', async () => {
    const harness = await startGatewayHarness();
    const session = await loginSession(harness.url, 'alice', TEST_PASSWORD);
    const other = await loginSession(harness.url, 'alice', TEST_PASSWORD);
    let captured: { target: string; headers: Array<[string, string]>; method: string } | undefined;
    const used = await sendSigned(harness.url, other, {
      method: 'GET',
      target: '/api/items',
      after: (r) => void (captured = r),
    });
    expect(used.status).toBe(200);
    const logout = await sendSigned(harness.url, session, {
      method: 'POST',
      target: '/auth/logout',
      body: '{}',
      idempotencyKey: null,
    });
    expect(logout.status).toBe(200);

    await harness.gateway.close();
    // The next gateway starts in a later second than every signature made so far.
    await new Promise((resolve) => setTimeout(resolve, 1100));
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
    try {
      expect((restarted.app.server.address() as AddressInfo).port).toBe(harness.port);
      const before = harness.upstream.calls.length;

      const revoked = await sendSigned(harness.url, session, {
        method: 'GET',
        target: '/api/items',
      });
      const replayed = await sendRaw(harness.url, captured!);
      const fresh = await sendSigned(harness.url, other, { method: 'GET', target: '/api/items' });

      expect(revoked.status).toBe(401);
      expect(revoked.json.code).toBe('session_revoked');
      expect(replayed.status).toBe(401);
      expect(replayed.json.code).toBe('clock_skew');
      expect(fresh.status).toBe(200);
      expect(harness.upstream.calls.length).toBe(before + 1);
    } finally {
      await restarted.close();
      await harness.upstream.close();
      rmSync(harness.dir, { recursive: true, force: true });
    }
  });
});
