import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { describe, expect, it } from 'vitest';

import { startGatewayHarness, TEST_PASSWORD } from '../helpers/gateway-harness.js';
import { loginSession, sendSigned } from '../helpers/signing-session.js';

describe('upstream deadline', () => {
  it('returns 504 upstream_timeout for a silent upstream', async () => {
    // Accepts every request and never responds.
    const silent: Server = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const harness = await startGatewayHarness({
      services: { echo: { url: silentUrl, hopKeyId: 'gateway-echo' } },
      upstreamTimeoutMs: 300,
    });
    try {
      const session = await loginSession(harness.url, 'alice', TEST_PASSWORD);

      const response = await sendSigned(harness.url, session, {
        method: 'GET',
        target: '/api/items',
      });

      expect(response.status).toBe(504);
      expect(response.json.code).toBe('upstream_timeout');
    } finally {
      await harness.close();
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
