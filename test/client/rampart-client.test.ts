import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { RampartClient } from '../../src/client/rampart-client.js';
import {
  startGatewayHarness,
  TEST_PASSWORD,
  type GatewayHarness,
} from '../helpers/gateway-harness.js';

let harness: GatewayHarness;

beforeAll(async () => {
  harness = await startGatewayHarness();
});

afterAll(async () => {
  await harness.close();
});

/** Returns a fetch that counts calls per path and can rewrite responses, as a network attacker could. */
function recordingFetch(rewrite?: (url: URL, response: Response) => Promise<Response>) {
  const paths: string[] = [];
  const wrapped: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    paths.push(url.pathname);
    const response = await fetch(input, init);
    return rewrite === undefined ? response : rewrite(url, response);
  };
  return { fetch: wrapped, paths };
}

describe('RampartClient', () => {
  it('takes its clock offset from the login answer', async () => {
    const client = new RampartClient({ baseUrl: harness.url, clock: () => Date.now() - 120_000 });
    await client.login('alice', TEST_PASSWORD);

    const response = await client.fetch('/api/items');

    expect(client.clockOffset).toBeGreaterThanOrEqual(119);
    expect(response.status).toBe(200);
  });

  it('retries after clock_skew when its offset is wrong', async () => {
    let skew = 0;
    const recorder = recordingFetch();
    const client = new RampartClient({
      baseUrl: harness.url,
      fetch: recorder.fetch,
      clock: () => Date.now() + skew,
    });
    await client.login('alice', TEST_PASSWORD);
    skew = -120_000;
    const before = recorder.paths.length;

    const response = await client.fetch('/api/items');

    expect(response.status).toBe(200);
    expect(recorder.paths.length - before).toBe(2);
    expect(client.clockOffset).toBeGreaterThanOrEqual(119);
    expect(client.clockOffset).toBeLessThanOrEqual(121);
  });

  it('ignores an unsigned clock_skew answer', async () => {
    let forge = false;
    const recorder = recordingFetch(async (url, response) => {
      if (!forge || url.pathname !== '/api/items') return response;
      return new Response(JSON.stringify({ code: 'clock_skew', serverTime: 1 }), {
        status: 401,
        headers: { 'content-type': 'application/problem+json' },
      });
    });
    const client = new RampartClient({ baseUrl: harness.url, fetch: recorder.fetch });
    await client.login('alice', TEST_PASSWORD);
    const offset = client.clockOffset;
    forge = true;

    const response = await client.fetch('/api/items');

    expect(response.status).toBe(401);
    expect(client.clockOffset).toBe(offset);
  });

  it('rejects a response whose body was changed in transit', async () => {
    let tamper = false;
    const recorder = recordingFetch(async (_url, response) => {
      if (!tamper) return response;
      const body = (await response.text()).replace('u-alice', 'u-bob');
      return new Response(body, { status: response.status, headers: response.headers });
    });
    const client = new RampartClient({ baseUrl: harness.url, fetch: recorder.fetch });
    await client.login('alice', TEST_PASSWORD);
    tamper = true;

    await expect(client.fetch('/api/items')).rejects.toMatchObject({
      code: 'response_signature_invalid',
    });
  });

  it('rejects a recorded answer replayed to a later request', async () => {
    let recorded: { body: string; status: number; headers: Headers } | undefined;
    const client = new RampartClient({
      baseUrl: harness.url,
      fetch: async (input, init) => {
        const url = new URL(String(input));
        if (url.pathname !== '/api/items/1') return fetch(input, init);
        if (recorded !== undefined) return new Response(recorded.body, recorded);
        const response = await fetch(input, init);
        recorded = {
          body: await response.clone().text(),
          status: response.status,
          headers: response.headers,
        };
        return response;
      },
    });
    await client.login('alice', TEST_PASSWORD);
    const first = await client.fetch('/api/items/1');
    expect(first.status).toBe(200);

    // The recorded answer covers the first request's signature, not the second one's.
    await expect(client.fetch('/api/items/1')).rejects.toMatchObject({
      code: 'response_signature_invalid',
    });
  });

  it('runs one refresh for many concurrent calls', async () => {
    const recorder = recordingFetch();
    // A margin longer than the token life makes every call want a refresh.
    const client = new RampartClient({
      baseUrl: harness.url,
      fetch: recorder.fetch,
      refreshMarginSeconds: 301,
    });
    await client.login('alice', TEST_PASSWORD);
    const firstToken = client.session?.token;

    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) => client.fetch(`/api/items/${i}`)),
    );

    expect(responses.every((response) => response.status === 200)).toBe(true);
    expect(recorder.paths.filter((path) => path === '/auth/refresh')).toHaveLength(1);
    expect(client.session?.token).not.toBe(firstToken);
  });

  it('adds an Idempotency-Key to unsafe methods', async () => {
    const client = new RampartClient({ baseUrl: harness.url });
    await client.login('alice', TEST_PASSWORD);
    const before = harness.upstream.calls.length;

    await client.fetch('/api/items', { method: 'POST', body: { a: 1 } });
    await client.fetch('/api/items/7', { method: 'DELETE' });

    const keys = harness.upstream.calls
      .slice(before)
      .map((call) => call.headers['idempotency-key']);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[1]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[0]).not.toBe(keys[1]);
  });

  it('fails before sending when not logged in', async () => {
    const client = new RampartClient({ baseUrl: harness.url });

    await expect(client.fetch('/api/items')).rejects.toMatchObject({ code: 'not_logged_in' });
  });

  it('reports the gateway code when login fails', async () => {
    const client = new RampartClient({ baseUrl: harness.url });

    await expect(client.login('alice', 'wrong')).rejects.toMatchObject({
      code: 'credentials_invalid',
      status: 401,
    });
  });
});
