import { Writable } from 'node:stream';

import pino from 'pino';
import { describe, expect, it } from 'vitest';

import { REDACTED_LOG_PATHS } from '../../src/gateway/create-gateway.js';
import { MemoryReplayStore } from '../../src/replay/memory-replay-store.js';
import {
  newRevocationFile,
  startGatewayHarness,
  TEST_PASSWORD,
} from '../helpers/gateway-harness.js';
import { sendRaw } from '../helpers/raw-http.js';
import { loginSession, sendSigned } from '../helpers/signing-session.js';

describe('gateway with a failing store', () => {
  it('answers 503 store_full when the replay store is full, and forwards nothing', async () => {
    const harness = await startGatewayHarness(
      {},
      {
        replayStore: new MemoryReplayStore({ maxEntries: 3, revocationFile: newRevocationFile() }),
      },
    );
    try {
      const session = await loginSession(harness.url, 'alice', TEST_PASSWORD);
      for (let i = 0; i < 3; i += 1) {
        const ok = await sendSigned(harness.url, session, { method: 'GET', target: '/api/items' });
        expect(ok.status).toBe(200);
      }
      const before = harness.upstream.calls.length;

      const full = await sendSigned(harness.url, session, { method: 'GET', target: '/api/items' });

      expect(full.status).toBe(503);
      expect(full.json.code).toBe('store_full');
      expect(harness.upstream.calls.length).toBe(before);
    } finally {
      await harness.close();
    }
  });

  it('answers 503 when the audit store is gone, before forwarding a state change', async () => {
    const harness = await startGatewayHarness();
    try {
      const session = await loginSession(harness.url, 'alice', TEST_PASSWORD);
      await harness.gateway.context.auditLog.close();

      const response = await sendSigned(harness.url, session, {
        method: 'POST',
        target: '/api/items',
        body: '{"amount":"1.00"}',
      });
      const ready = await sendRaw(harness.url, { method: 'GET', target: '/readyz' });

      expect(response.status).toBe(503);
      expect(response.json.code).toBe('store_unavailable');
      expect(harness.upstream.calls).toHaveLength(0);
      expect(ready.status).toBe(503);
      expect(ready.json.code).toBe('store_unavailable');
    } finally {
      await harness.close().catch(() => undefined);
    }
  });

  it('answers 502 when the upstream is down', async () => {
    const harness = await startGatewayHarness();
    try {
      const session = await loginSession(harness.url, 'alice', TEST_PASSWORD);
      await harness.upstream.close();

      const response = await sendSigned(harness.url, session, {
        method: 'GET',
        target: '/api/items',
      });

      expect(response.status).toBe(502);
      expect(response.json.code).toBe('upstream_unavailable');
    } finally {
      await harness.close().catch(() => undefined);
    }
  });
});

describe('gateway logs', () => {
  it('never contain a password, token, signature or session key', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = pino({ level: 'trace', redact: REDACTED_LOG_PATHS }, sink);
    const harness = await startGatewayHarness({}, { logger });
    try {
      const session = await loginSession(harness.url, 'alice', TEST_PASSWORD);
      await sendSigned(harness.url, session, {
        method: 'POST',
        target: '/api/items',
        body: '{"amount":"1.00"}',
      });
      await sendSigned(harness.url, session, { method: 'GET', target: '/api/items', created: 1 });
      await sendRaw(harness.url, {
        method: 'POST',
        target: '/auth/login',
        headers: [['content-type', 'application/json']],
        body: JSON.stringify({
          username: 'alice',
          password: 'wrong-password-123',
          clientPublicKey: 'x',
        }),
      });

      const log = lines.join('');
      expect(lines.length).toBeGreaterThan(5);
      expect(log).not.toContain(TEST_PASSWORD);
      expect(log).not.toContain('wrong-password-123');
      expect(log).not.toContain(session.token);
      expect(log).not.toContain(session.token.split('.')[4] as string);
      const key =
        session.key.algorithm === 'hmac-sha256' ? session.key.secret.export() : Buffer.alloc(0);
      expect(log).not.toContain(key.toString('base64url'));
      expect(log).not.toContain(key.toString('base64'));
      expect(log).not.toMatch(/sig1=:[A-Za-z0-9+/=]{40,}:/);
    } finally {
      await harness.close();
    }
  });
});
