import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { createContentDigest } from '../../src/signature/content-digest.js';
import { StoreUnavailableError } from '../../src/replay/replay-store.js';
import { MemoryReplayStore } from '../../src/replay/memory-replay-store.js';
import {
  encodeIdentity,
  listeningAuthority,
  rampartService,
  requireOwnership,
  requirePermission,
  verifiedHop,
} from '../../src/service/index.js';
import type { HopCredentials } from '../../src/service/hop-signature.js';
import {
  identityOf,
  newHopKey,
  problemCode,
  send,
  signedRequest,
  type SignedRequestOptions,
} from './helpers.js';
import { CountingReplayStore, signRawHop } from './fixtures.js';

const gateway: HopCredentials = { keyid: 'gateway-orders', key: newHopKey() };
const stranger: HopCredentials = { keyid: 'stranger-orders', key: newHopKey() };
const alice = identityOf('u-alice', ['orders:read', 'orders:create']);

let app: FastifyInstance;
let origin: string;
let replayStore: CountingReplayStore;
let handlerRuns = 0;

async function buildApp(store: CountingReplayStore | MemoryReplayStore): Promise<FastifyInstance> {
  const instance = Fastify({ logger: false });
  await instance.register(rampartService, {
    authority: () => listeningAuthority(instance.server),
    callers: { [gateway.keyid]: { caller: 'gateway', key: gateway.key } },
    replayStore: store,
    bodyLimit: 1024,
  });
  instance.get(
    '/orders/:id',
    {
      preHandler: [
        requirePermission('orders:read'),
        requireOwnership((request) => {
          const { id } = request.params as { id: string };
          return id.startsWith(`${verifiedHop(request).identity.sub}-`);
        }),
      ],
    },
    async (request) => {
      handlerRuns += 1;
      return verifiedHop(request);
    },
  );
  instance.post(
    '/orders',
    { preHandler: requirePermission('orders:create') },
    async (request, reply) => {
      handlerRuns += 1;
      return reply.status(201).send({ received: request.body, hop: verifiedHop(request) });
    },
  );
  instance.get('/boom', async () => {
    handlerRuns += 1;
    throw new Error('database password is hunter2');
  });
  await instance.listen({ host: '127.0.0.1', port: 0 });
  return instance;
}

function hop(options: Partial<SignedRequestOptions> & { method: string; target: string }) {
  return signedRequest({ origin, identity: alice, credentials: gateway, ...options });
}

beforeAll(async () => {
  replayStore = new CountingReplayStore();
  app = await buildApp(replayStore);
  origin = `http://${listeningAuthority(app.server)}`;
});

afterAll(async () => {
  await app.close();
});

beforeEach(() => {
  handlerRuns = 0;
  replayStore.claims = 0;
});

describe('rampartService plugin', () => {
  it('accepts a valid hop and exposes the identity', async () => {
    const response = await send(hop({ method: 'GET', target: '/orders/u-alice-1' }));

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ caller: 'gateway', keyid: 'gateway-orders', identity: alice });
    expect(handlerRuns).toBe(1);
  });

  it('parses a JSON body after checking its digest', async () => {
    const response = await send(
      hop({ method: 'POST', target: '/orders', body: { item: 'book', qty: 2 } }),
    );

    expect(response.status).toBe(201);
    expect((response.body as { received: unknown }).received).toEqual({ item: 'book', qty: 2 });
  });

  it('rejects an unsigned call', async () => {
    const response = await send({ method: 'GET', url: `${origin}/orders/u-alice-1`, headers: {} });

    expect(response.status).toBe(401);
    expect(problemCode(response)).toBe('signature_missing');
    expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(handlerRuns).toBe(0);
    expect(replayStore.claims).toBe(0);
  });

  it('rejects a caller not in the config', async () => {
    const response = await send(
      hop({ method: 'GET', target: '/orders/u-alice-1', credentials: stranger }),
    );

    expect(response.status).toBe(401);
    expect(problemCode(response)).toBe('caller_unknown');
    expect(handlerRuns).toBe(0);
    expect(replayStore.claims).toBe(0);
  });

  it('rejects a known key id signed with another key', async () => {
    const forged = { keyid: gateway.keyid, key: newHopKey() };
    const response = await send(
      hop({ method: 'GET', target: '/orders/u-alice-1', credentials: forged }),
    );

    expect(response.status).toBe(401);
    expect(problemCode(response)).toBe('signature_invalid');
    expect(handlerRuns).toBe(0);
    expect(replayStore.claims).toBe(0);
  });

  it('rejects a replayed hop', async () => {
    const wire = hop({ method: 'POST', target: '/orders', body: { item: 'book' } });

    const first = await send(wire);
    const replay = await send(wire);

    expect(first.status).toBe(201);
    expect(replay.status).toBe(401);
    expect(problemCode(replay)).toBe('nonce_replayed');
    expect(handlerRuns).toBe(1);
  });

  it('rejects a body changed after signing', async () => {
    const wire = hop({ method: 'POST', target: '/orders', body: { item: 'book', qty: 1 } });
    wire.body = Buffer.from(JSON.stringify({ item: 'book', qty: 9 }));

    const response = await send(wire);

    expect(response.status).toBe(400);
    expect(problemCode(response)).toBe('digest_mismatch');
    expect(handlerRuns).toBe(0);
    expect(replayStore.claims).toBe(0);
  });

  it('rejects a body added to a bodyless signature', async () => {
    const wire = hop({ method: 'POST', target: '/orders' });
    wire.body = Buffer.from('{"item":"book"}');
    wire.headers['content-type'] = 'application/json';
    delete wire.headers['content-digest'];

    const response = await send(wire);

    expect(response.status).toBe(401);
    expect(problemCode(response)).toBe('signature_coverage_insufficient');
    expect(handlerRuns).toBe(0);
    expect(replayStore.claims).toBe(0);
  });

  it('rejects an identity header changed after signing', async () => {
    const wire = hop({ method: 'GET', target: '/orders/u-alice-1' });
    wire.headers['rampart-identity'] = encodeIdentity({
      ...alice,
      permissions: ['orders:read', 'admin'],
    });

    const response = await send(wire);

    expect(response.status).toBe(401);
    expect(problemCode(response)).toBe('signature_invalid');
    expect(handlerRuns).toBe(0);
  });

  it('rejects a path changed after signing', async () => {
    const wire = hop({ method: 'GET', target: '/orders/u-alice-1' });
    wire.url = `${origin}/orders/u-alice-2`;

    const response = await send(wire);

    expect(response.status).toBe(401);
    expect(problemCode(response)).toBe('signature_invalid');
    expect(handlerRuns).toBe(0);
  });

  it('rejects a hop signed for another authority', async () => {
    const wire = signedRequest({
      origin: 'http://127.0.0.1:1',
      method: 'GET',
      target: '/orders/u-alice-1',
      identity: alice,
      credentials: gateway,
    });
    wire.url = `${origin}/orders/u-alice-1`;

    const response = await send(wire);

    expect(response.status).toBe(401);
    expect(problemCode(response)).toBe('signature_invalid');
  });

  it('rejects a missing permission with 403', async () => {
    const reader = identityOf('u-alice', ['orders:read']);
    const response = await send(
      hop({ method: 'POST', target: '/orders', identity: reader, body: {} }),
    );

    expect(response.status).toBe(403);
    expect(problemCode(response)).toBe('permission_denied');
    expect(handlerRuns).toBe(0);
  });

  it('rejects another owner with resource_forbidden', async () => {
    const response = await send(hop({ method: 'GET', target: '/orders/u-bob-1' }));

    expect(response.status).toBe(403);
    expect(problemCode(response)).toBe('resource_forbidden');
    expect(handlerRuns).toBe(0);
  });

  type HeaderChange = (headers: Record<string, string>) => void;
  it.each<[string, HeaderChange, number, string]>([
    [
      'garbage Signature-Input',
      (h) => void (h['signature-input'] = 'hop=((('),
      400,
      'signature_malformed',
    ],
    [
      'garbage Signature',
      (h) => void (h['signature'] = 'hop=not-bytes'),
      400,
      'signature_malformed',
    ],
    ['a lone Signature', (h) => delete h['signature-input'], 400, 'signature_malformed'],
    ['a short Signature', (h) => void (h['signature'] = 'hop=:AAAA:'), 401, 'signature_invalid'],
    [
      'a string created',
      (h) =>
        void (h['signature-input'] = h['signature-input']!.replace(/created=\d+/, 'created="1"')),
      401,
      'signature_params_invalid',
    ],
    [
      'no nonce',
      (h) => void (h['signature-input'] = h['signature-input']!.replace(/;nonce="[^"]*"/, '')),
      401,
      'signature_params_invalid',
    ],
    [
      'a second hop signature',
      (h) => void (h['signature-input'] += ', x=("@method");tag="rampart-hop"'),
      400,
      'signature_malformed',
    ],
    [
      'no hop tag',
      (h) => void (h['signature-input'] = h['signature-input']!.replace('rampart-hop', 'other')),
      401,
      'signature_missing',
    ],
    [
      'an old created',
      (h) =>
        void (h['signature-input'] = h['signature-input']!.replace(/created=\d+/, 'created=1000')),
      401,
      'clock_skew',
    ],
  ])('rejects %s with a coded 4xx', async (_name, change, status, code) => {
    const wire = hop({ method: 'GET', target: '/orders/u-alice-1' });
    change(wire.headers);

    const response = await send(wire);

    expect(response.status).toBe(status);
    expect(problemCode(response)).toBe(code);
    expect(handlerRuns).toBe(0);
    expect(replayStore.claims).toBe(0);
  });

  it.each([
    ['not a dictionary', '((('],
    ['unknown algorithm only', 'md5=:AAAA:'],
    ['digest not a byte sequence', 'sha-256=12'],
  ])('rejects a signed Content-Digest that is %s', async (_name, digest) => {
    const body = Buffer.from('{"item":"book"}');
    const wire = signRawHop({
      method: 'POST',
      origin,
      target: '/orders',
      identity: alice,
      keyid: gateway.keyid,
      key: gateway.key,
      headers: { 'content-type': 'application/json', 'content-digest': digest },
      body,
    });

    const response = await send(wire);

    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    expect(problemCode(response)).toMatch(/^digest_/);
    expect(handlerRuns).toBe(0);
    expect(replayStore.claims).toBe(0);
  });

  it('rejects a non-empty digest on a call without body', async () => {
    const wire = hop({ method: 'GET', target: '/orders/u-alice-1' });
    wire.headers['content-digest'] = createContentDigest(Buffer.from('{"item":"x"}'));

    const response = await send(wire);

    expect(response.status).toBe(400);
    expect(problemCode(response)).toBe('digest_mismatch');
    expect(handlerRuns).toBe(0);
  });

  it('accepts the empty-body digest on a call without body', async () => {
    const wire = hop({ method: 'GET', target: '/orders/u-alice-1' });
    wire.headers['content-digest'] = createContentDigest(Buffer.from(''));

    const response = await send(wire);

    expect(response.status).toBe(200);
    expect(handlerRuns).toBe(1);
  });

  it('rejects invalid JSON after a valid digest', async () => {
    const response = await send(
      hop({ method: 'POST', target: '/orders', body: Buffer.from('{"item":') }),
    );

    expect(response.status).toBe(400);
    expect(problemCode(response)).toBe('request_malformed');
    expect(handlerRuns).toBe(0);
  });

  it('rejects a __proto__ key in the body', async () => {
    const body = Buffer.from('{"__proto__":{"admin":true}}');
    const response = await send(hop({ method: 'POST', target: '/orders', body }));

    expect(response.status).toBe(400);
    expect(problemCode(response)).toBe('request_malformed');
    expect(handlerRuns).toBe(0);
  });

  it('rejects a body that is not JSON', async () => {
    const wire = hop({
      method: 'POST',
      target: '/orders',
      body: Buffer.from('item=book'),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });

    const response = await send(wire);

    expect(response.status).toBe(415);
    expect(problemCode(response)).toBe('media_type_unsupported');
    expect(handlerRuns).toBe(0);
  });

  it('rejects a body over the limit', async () => {
    const response = await send(
      hop({ method: 'POST', target: '/orders', body: { pad: 'x'.repeat(2000) } }),
    );

    expect(response.status).toBe(413);
    expect(problemCode(response)).toBe('body_too_large');
    expect(handlerRuns).toBe(0);
  });

  it('rejects a path with dot segments before anything else', async () => {
    const wire = hop({ method: 'GET', target: '/orders/%2e%2e/u-alice-1' });

    const response = await send(wire);

    expect(response.status).toBe(400);
    expect(problemCode(response)).toBe('path_invalid');
    expect(handlerRuns).toBe(0);
  });

  it('answers an unsigned call to an unknown route with 401', async () => {
    const response = await send({ method: 'GET', url: `${origin}/nowhere`, headers: {} });

    expect(response.status).toBe(401);
    expect(problemCode(response)).toBe('signature_missing');
  });

  it('answers a signed call to an unknown route with 404', async () => {
    const response = await send(hop({ method: 'GET', target: '/nowhere' }));

    expect(response.status).toBe(404);
    expect(problemCode(response)).toBe('route_not_found');
  });

  it('answers a handler crash with a bare 500', async () => {
    const response = await send(hop({ method: 'GET', target: '/boom' }));

    expect(response.status).toBe(500);
    expect(problemCode(response)).toBe('internal_error');
    expect(JSON.stringify(response.body)).not.toContain('hunter2');
    expect(handlerRuns).toBe(1);
  });

  it('answers 503 when the replay store is unavailable', async () => {
    const broken = new CountingReplayStore();
    broken.claimNonce = async () => {
      throw new StoreUnavailableError('unreachable', 'connection refused');
    };
    const other = await buildApp(broken);
    try {
      const otherOrigin = `http://${listeningAuthority(other.server)}`;
      const wire = signedRequest({
        origin: otherOrigin,
        method: 'GET',
        target: '/orders/u-alice-1',
        identity: alice,
        credentials: gateway,
      });

      const response = await send(wire);

      expect(response.status).toBe(503);
      expect(problemCode(response)).toBe('store_unavailable');
      expect(handlerRuns).toBe(0);
    } finally {
      await other.close();
    }
  });
});
