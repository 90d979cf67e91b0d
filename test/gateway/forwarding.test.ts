import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { RampartClient } from '../../src/client/rampart-client.js';
import {
  startGatewayHarness,
  TEST_PASSWORD,
  type GatewayHarness,
} from '../helpers/gateway-harness.js';
import { sendRaw } from '../helpers/raw-http.js';
import { loginSession, sendSigned } from '../helpers/signing-session.js';

let harness: GatewayHarness;

beforeAll(async () => {
  harness = await startGatewayHarness();
});

afterAll(async () => {
  await harness.close();
});

describe('gateway forwarding', () => {
  it('forwards a signed GET with identity and hop signature', async () => {
    const client = new RampartClient({ baseUrl: harness.url });
    await client.login('alice', TEST_PASSWORD);
    const before = harness.upstream.calls.length;

    const response = await client.fetch('/api/items/42?view=full');

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      ok: true,
      path: '/api/items/42?view=full',
      sub: 'u-alice',
    });
    const call = harness.upstream.calls[before];
    expect(call?.url).toBe('/api/items/42?view=full');
    expect(call?.hopKeyId).toBe('gateway-echo');
    expect(call?.identity.sub).toBe('u-alice');
    expect(call?.identity.permissions).toEqual(['items:read', 'items:write']);
    expect(call?.identity.requestId).toBe(response.headers.get('rampart-request-id'));
  });

  it('forwards a POST body byte for byte with its idempotency key', async () => {
    const client = new RampartClient({ baseUrl: harness.url });
    await client.login('alice', TEST_PASSWORD);
    const before = harness.upstream.calls.length;

    const response = await client.fetch('/api/items', {
      method: 'POST',
      body: { amount: '25.00' },
      idempotencyKey: 'key-123',
    });

    expect(response.status).toBe(200);
    const call = harness.upstream.calls[before];
    expect(call?.body.toString()).toBe('{"amount":"25.00"}');
    expect(call?.headers['idempotency-key']).toBe('key-123');
    expect(call?.headers['content-type']).toBe('application/json');
  });

  it('strips credentials, client identity and hop-by-hop headers', async () => {
    const session = await loginSession(harness.url, 'alice', TEST_PASSWORD);
    const before = harness.upstream.calls.length;
    const forged = Buffer.from(
      JSON.stringify({
        sub: 'u-admin',
        sid: 'x',
        roles: ['admin'],
        permissions: ['admin:read'],
        requestId: 'r',
      }),
    ).toString('base64url');

    const response = await sendSigned(harness.url, session, {
      method: 'GET',
      target: '/api/items',
      headers: [
        ['rampart-identity', forged],
        ['cookie', 'other=1'],
        ['x-custom', 'hello'],
        ['connection', 'keep-alive, x-drop-me'],
        ['x-drop-me', '1'],
        ['forwarded', 'for=10.0.0.1'],
      ],
    });

    expect(response.status).toBe(200);
    const call = harness.upstream.calls[before];
    expect(call?.identity.sub).toBe('u-alice');
    expect(call?.identity.roles).toEqual(['customer']);
    expect(call?.headers.authorization).toBeUndefined();
    expect(call?.headers.cookie).toBeUndefined();
    expect(call?.headers['x-custom']).toBeUndefined();
    expect(call?.headers['x-drop-me']).toBeUndefined();
    expect(call?.headers.forwarded).toBeUndefined();
    expect(String(call?.headers['signature-input'])).toContain('tag="rampart-hop"');
  });

  it('never passes Set-Cookie or Location from the upstream', async () => {
    harness.upstream.respond(() => ({
      status: 200,
      body: { ok: true },
      headers: { 'set-cookie': 'internal=1', location: 'http://10.0.0.5/' },
    }));
    const client = new RampartClient({ baseUrl: harness.url });
    await client.login('alice', TEST_PASSWORD);

    const response = await client.fetch('/api/items');

    expect(response.status).toBe(200);
    expect(response.headers.get('set-cookie')).toBeNull();
    expect(response.headers.get('location')).toBeNull();
    harness.upstream.respond((call) => ({
      status: 200,
      body: { ok: true, path: call.url, sub: call.identity.sub },
    }));
  });

  it('answers healthz and readyz', async () => {
    const health = await sendRaw(harness.url, { method: 'GET', target: '/healthz' });
    const ready = await sendRaw(harness.url, { method: 'GET', target: '/readyz' });

    expect(health.status).toBe(200);
    expect(ready.status).toBe(200);
    expect(ready.json.status).toBe('ready');
  });
});
