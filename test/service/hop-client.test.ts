import { createServer, type Server } from 'node:http';

import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { RampartError } from '../../src/errors.js';
import { MemoryReplayStore } from '../../src/replay/memory-replay-store.js';
import {
  createHopClient,
  listeningAuthority,
  rampartService,
  verifiedHop,
  withRampart,
  type HopClient,
  type NodeHopContext,
} from '../../src/service/index.js';
import type { HopCredentials } from '../../src/service/hop-signature.js';
import { closeServer, identityOf, listenOnLoopback, newHopKey } from './helpers.js';

const payments: HopCredentials = { keyid: 'payments-ledger', key: newHopKey() };
const alice = identityOf('u-alice', ['transfers:create']);

async function expectRampartError(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(RampartError);
  expect((error as RampartError).code).toBe(code);
}

describe('createHopClient against withRampart', () => {
  let server: Server;
  let origin: string;
  let client: HopClient;
  const contexts: NodeHopContext[] = [];

  beforeAll(async () => {
    server = createServer(
      withRampart(
        (req, res, context) => {
          contexts.push(context);
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({
              method: req.method,
              url: req.url,
              key: req.headers['idempotency-key'] ?? null,
            }),
          );
        },
        {
          authority: () => listeningAuthority(server),
          callers: { [payments.keyid]: { caller: 'payments', key: payments.key } },
          replayStore: new MemoryReplayStore(),
          logger: false,
        },
      ),
    );
    origin = await listenOnLoopback(server);
    client = createHopClient({ baseUrl: origin, credentials: payments, timeoutMs: 2000 });
  });

  afterAll(async () => {
    await client.close();
    await closeServer(server);
  });

  it('sends a GET hop the service accepts', async () => {
    const response = await client.request({
      method: 'GET',
      target: '/ledger/x?y=1',
      identity: alice,
    });

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ method: 'GET', url: '/ledger/x?y=1', key: null });
    expect(contexts.at(-1)?.identity).toEqual(alice);
    expect(contexts.at(-1)?.caller).toBe('payments');
  });

  it('sends a JSON body and an idempotency key', async () => {
    const response = await client.request({
      method: 'POST',
      target: '/ledger/transfers',
      identity: alice,
      body: { amount: '1.00' },
      idempotencyKey: 'u-alice:k1',
    });

    expect(response.status).toBe(200);
    expect((response.body as { key: unknown }).key).toBe('u-alice:k1');
    expect(Buffer.from(contexts.at(-1)?.body ?? []).toString()).toBe('{"amount":"1.00"}');
  });

  it('signs a POST without body as an empty body', async () => {
    const response = await client.request({
      method: 'POST',
      target: '/ledger/ping',
      identity: alice,
    });

    expect(response.status).toBe(200);
    expect(contexts.at(-1)?.body?.byteLength).toBe(0);
  });

  it('rejects a target that is not origin-form', async () => {
    await expect(
      client.request({ method: 'GET', target: 'http://evil/x', identity: alice }),
    ).rejects.toThrow(TypeError);
    await expect(
      client.request({ method: 'GET', target: '/a/../b', identity: alice }),
    ).rejects.toThrow(TypeError);
  });
});

describe('createHopClient against the Fastify plugin', () => {
  let app: FastifyInstance;
  let client: HopClient;

  beforeAll(async () => {
    app = Fastify({ logger: false });
    await app.register(rampartService, {
      authority: () => listeningAuthority(app.server),
      callers: { [payments.keyid]: { caller: 'payments', key: payments.key } },
      replayStore: new MemoryReplayStore(),
    });
    app.post('/echo', async (request) => ({
      body: request.body ?? null,
      sub: verifiedHop(request).identity.sub,
    }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    client = createHopClient({
      baseUrl: `http://${listeningAuthority(app.server)}`,
      credentials: payments,
    });
  });

  afterAll(async () => {
    await client.close();
    await app.close();
  });

  it('round-trips a JSON body', async () => {
    const response = await client.request({
      method: 'POST',
      target: '/echo',
      identity: alice,
      body: { a: [1, 'é'] },
    });

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ body: { a: [1, 'é'] }, sub: 'u-alice' });
  });

  it('accepts a POST without body', async () => {
    const response = await client.request({ method: 'POST', target: '/echo', identity: alice });

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ body: null, sub: 'u-alice' });
  });

  it('returns problem responses as parsed bodies', async () => {
    const response = await client.request({ method: 'POST', target: '/missing', identity: alice });

    expect(response.status).toBe(404);
    expect((response.body as { code: string }).code).toBe('route_not_found');
  });
});

describe('createHopClient failures', () => {
  const servers: Server[] = [];

  afterEach(async () => {
    for (const server of servers.splice(0)) await closeServer(server);
  });

  async function serve(listener: Parameters<typeof createServer>[1]): Promise<string> {
    const server = createServer(listener);
    servers.push(server);
    return listenOnLoopback(server);
  }

  it('maps a refused connection to upstream_unavailable', async () => {
    const server = createServer();
    const origin = await listenOnLoopback(server);
    await closeServer(server);
    const client = createHopClient({ baseUrl: origin, credentials: payments, timeoutMs: 2000 });

    await expectRampartError(
      client.request({ method: 'GET', target: '/x', identity: alice }),
      'upstream_unavailable',
    );
    await client.close();
  });

  it('maps a silent upstream to upstream_timeout', async () => {
    const origin = await serve(() => {
      // Never answers.
    });
    const client = createHopClient({ baseUrl: origin, credentials: payments, timeoutMs: 200 });
    const started = Date.now();

    await expectRampartError(
      client.request({ method: 'GET', target: '/x', identity: alice }),
      'upstream_timeout',
    );
    expect(Date.now() - started).toBeLessThan(2000);
    await client.close();
  });

  it('does not follow a redirect', async () => {
    let calls = 0;
    const origin = await serve((req, res) => {
      calls += 1;
      res.writeHead(302, { location: '/elsewhere' }).end();
    });
    const client = createHopClient({ baseUrl: origin, credentials: payments });

    const response = await client.request({ method: 'GET', target: '/x', identity: alice });

    expect(response.status).toBe(302);
    expect(calls).toBe(1);
    await client.close();
  });

  it('rejects an oversized response with upstream_error', async () => {
    const origin = await serve((req, res) => {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ pad: 'x'.repeat(5000) }));
    });
    const client = createHopClient({
      baseUrl: origin,
      credentials: payments,
      maxResponseBytes: 1000,
    });

    await expectRampartError(
      client.request({ method: 'GET', target: '/x', identity: alice }),
      'upstream_error',
    );
    await client.close();
  });

  it('rejects invalid JSON with upstream_error', async () => {
    const origin = await serve((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"broken":');
    });
    const client = createHopClient({ baseUrl: origin, credentials: payments });

    await expectRampartError(
      client.request({ method: 'GET', target: '/x', identity: alice }),
      'upstream_error',
    );
    await client.close();
  });

  it.each([
    ['a path', 'http://127.0.0.1:1/api'],
    ['userinfo', 'http://user:pw@127.0.0.1:1'],
    ['another scheme', 'ftp://127.0.0.1:1'],
    ['no URL', 'not a url'],
  ])('rejects a baseUrl with %s', (_name, baseUrl) => {
    expect(() => createHopClient({ baseUrl, credentials: payments })).toThrow(TypeError);
  });
});
