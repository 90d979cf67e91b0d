import { describe, expect, it } from 'vitest';

import { startGatewayHarness, TEST_PASSWORD } from '../helpers/gateway-harness.js';
import { sendRaw } from '../helpers/raw-http.js';
import { loginSession, sendSigned } from '../helpers/signing-session.js';

describe('readiness', () => {
  it('reports each store with its backend', async () => {
    const harness = await startGatewayHarness();
    try {
      const ready = await sendRaw(harness.url, { method: 'GET', target: '/readyz' });

      expect(ready.status).toBe(200);
      expect(ready.json).toEqual({
        status: 'ready',
        stores: {
          replay: { backend: 'memory', state: 'up' },
          users: { backend: 'custom', state: 'up' },
          audit: { backend: 'sqlite', state: 'up' },
        },
      });
    } finally {
      await harness.close();
    }
  });

  it('names the store that is down, without paths or addresses', async () => {
    const harness = await startGatewayHarness();
    try {
      await harness.gateway.context.auditLog.close();

      const ready = await sendRaw(harness.url, { method: 'GET', target: '/readyz' });

      expect(ready.status).toBe(503);
      expect(ready.headers['content-type']).toBe('application/problem+json');
      expect(ready.json.code).toBe('store_unavailable');
      expect(ready.json.stores).toEqual({
        replay: { backend: 'memory', state: 'up' },
        users: { backend: 'custom', state: 'up' },
        audit: { backend: 'sqlite', state: 'down' },
      });
      expect(ready.body.toString()).not.toContain(harness.dir);
    } finally {
      await harness.close().catch(() => undefined);
    }
  });

  it('adds no audit entry for a failed readiness check', async () => {
    const harness = await startGatewayHarness();
    try {
      const replay = harness.gateway.context.replayStore;
      const original = replay.ping.bind(replay);
      replay.ping = async () => {
        const { StoreUnavailableError } = await import('../../src/replay/replay-store.js');
        throw new StoreUnavailableError('unreachable', 'stopped for the test');
      };
      const before = await harness.gateway.context.auditLog.append({
        event: 'request',
        outcome: 'allowed',
      });

      const ready = await sendRaw(harness.url, { method: 'GET', target: '/readyz' });
      const after = await harness.gateway.context.auditLog.append({
        event: 'request',
        outcome: 'allowed',
      });
      replay.ping = original;

      expect(ready.status).toBe(503);
      expect(after.seq).toBe(before.seq + 1);
    } finally {
      await harness.close();
    }
  });
});

describe('metrics', () => {
  it('counts decisions by code and records latency', async () => {
    const harness = await startGatewayHarness();
    try {
      const session = await loginSession(harness.url, 'alice', TEST_PASSWORD);
      await sendSigned(harness.url, session, { method: 'GET', target: '/api/items' });
      await sendRaw(harness.url, { method: 'GET', target: '/api/items' });

      const metrics = await sendRaw(harness.url, { method: 'GET', target: '/metrics' });
      const text = metrics.body.toString();

      expect(metrics.status).toBe(200);
      expect(metrics.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(text).toContain('rampart_decisions_total{decision="allowed",code="none"} 2');
      expect(text).toContain(
        'rampart_decisions_total{decision="rejected",code="signature_missing"} 1',
      );
      expect(text).toMatch(/rampart_request_duration_seconds_count\{method="GET",status="200"\} 1/);
      expect(text).toMatch(/rampart_request_duration_seconds_bucket\{le="0\.005",method="POST"/);
      expect(text).toContain('rampart_store_up{store="audit"} 1');
      expect(text).toContain('rampart_process_cpu_user_seconds_total');
    } finally {
      await harness.close();
    }
  });

  it('counts store errors and marks the store down', async () => {
    const harness = await startGatewayHarness();
    try {
      const session = await loginSession(harness.url, 'alice', TEST_PASSWORD);
      await harness.gateway.context.auditLog.close();
      await sendSigned(harness.url, session, {
        method: 'POST',
        target: '/api/items',
        body: '{"amount":"1.00"}',
      });

      const text = (
        await sendRaw(harness.url, { method: 'GET', target: '/metrics' })
      ).body.toString();

      expect(text).toMatch(
        /rampart_store_errors_total\{store="audit",reason="unreachable"\} [1-9]/,
      );
      expect(text).toContain('rampart_store_up{store="audit"} 0');
      expect(text).toContain(
        'rampart_decisions_total{decision="rejected",code="store_unavailable"} 1',
      );
    } finally {
      await harness.close().catch(() => undefined);
    }
  });

  it('answers 404 to a peer that is not allowed', async () => {
    const harness = await startGatewayHarness({ metrics: { allowedAddresses: ['10.0.0.1'] } });
    try {
      const metrics = await sendRaw(harness.url, { method: 'GET', target: '/metrics' });

      expect(metrics.status).toBe(404);
      expect(metrics.json.code).toBe('route_not_found');
    } finally {
      await harness.close();
    }
  });

  it('answers 404 to a remote client behind a trusted proxy', async () => {
    const harness = await startGatewayHarness({ trustedProxies: ['127.0.0.1'] });
    try {
      const proxied = await sendRaw(harness.url, {
        method: 'GET',
        target: '/metrics',
        headers: [['x-forwarded-for', '203.0.113.7']],
      });
      const local = await sendRaw(harness.url, { method: 'GET', target: '/metrics' });

      expect(proxied.status).toBe(404);
      expect(proxied.json.code).toBe('route_not_found');
      expect(local.status).toBe(200);
    } finally {
      await harness.close();
    }
  });

  it('answers 404 when turned off', async () => {
    const harness = await startGatewayHarness({ metrics: { enabled: false } });
    try {
      const metrics = await sendRaw(harness.url, { method: 'GET', target: '/metrics' });

      expect(metrics.status).toBe(404);
    } finally {
      await harness.close();
    }
  });
});

describe('failing closed on the audit store', () => {
  it('forwards no read while the audit store is down, and recovers', async () => {
    const harness = await startGatewayHarness();
    try {
      const session = await loginSession(harness.url, 'alice', TEST_PASSWORD);
      const audit = harness.gateway.context.auditLog;
      const append = audit.append.bind(audit);
      const { RampartError } = await import('../../src/errors.js');
      let failing = true;
      audit.append = async (input) => {
        if (failing) throw new RampartError('store_unavailable');
        return append(input);
      };
      const ping = audit.ping.bind(audit);
      audit.ping = async () => {
        if (failing) throw new RampartError('store_unavailable');
        return ping();
      };

      // The first read finds out: the service responds, but its response is withheld.
      const first = await sendSigned(harness.url, session, { method: 'GET', target: '/api/items' });
      const callsAfterFirst = harness.upstream.calls.length;
      const second = await sendSigned(harness.url, session, {
        method: 'GET',
        target: '/api/items',
      });

      expect(first.status).toBe(503);
      expect(second.status).toBe(503);
      expect(second.json.code).toBe('store_unavailable');
      expect(harness.upstream.calls).toHaveLength(callsAfterFirst);

      failing = false;
      let recovered = 0;
      for (let attempt = 0; attempt < 30 && recovered !== 200; attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        recovered = (
          await sendSigned(harness.url, session, { method: 'GET', target: '/api/items' })
        ).status;
      }
      expect(recovered).toBe(200);
    } finally {
      await harness.close();
    }
  });
});
