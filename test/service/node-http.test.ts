import { createServer, type Server } from 'node:http';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { RampartError } from '../../src/errors.js';
import {
  encodeIdentity,
  listeningAuthority,
  withRampart,
  type NodeHopContext,
} from '../../src/service/index.js';
import type { HopCredentials } from '../../src/service/hop-signature.js';
import {
  closeServer,
  identityOf,
  listenOnLoopback,
  newHopKey,
  problemCode,
  send,
  signedRequest,
  type SignedRequestOptions,
} from './helpers.js';
import { CountingReplayStore } from './fixtures.js';

const gateway: HopCredentials = { keyid: 'gateway-reports', key: newHopKey() };
const stranger: HopCredentials = { keyid: 'stranger-reports', key: newHopKey() };
const alice = identityOf('u-alice', ['reports:read']);

let server: Server;
let origin: string;
let replayStore: CountingReplayStore;
let contexts: NodeHopContext[] = [];

function hop(options: Partial<SignedRequestOptions> & { method: string; target: string }) {
  return signedRequest({ origin, identity: alice, credentials: gateway, ...options });
}

beforeAll(async () => {
  replayStore = new CountingReplayStore();
  server = createServer(
    withRampart(
      (req, res, context) => {
        contexts.push(context);
        if (req.url === '/forbidden') throw new RampartError('permission_denied');
        if (req.url === '/crash') throw new Error('secret connection string');
        const body = context.body === undefined ? null : Buffer.from(context.body).toString('utf8');
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ caller: context.caller, identity: context.identity, body }));
      },
      {
        authority: () => listeningAuthority(server),
        callers: { [gateway.keyid]: { caller: 'gateway', key: gateway.key } },
        replayStore,
        maxBodyBytes: 256,
        logger: false,
      },
    ),
  );
  origin = await listenOnLoopback(server);
});

afterAll(async () => {
  await closeServer(server);
});

beforeEach(() => {
  contexts = [];
  replayStore.claims = 0;
});

describe('withRampart node:http adapter', () => {
  it('accepts a valid hop and passes the identity', async () => {
    const response = await send(hop({ method: 'GET', target: '/reports?year=2024' }));

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ caller: 'gateway', identity: alice, body: null });
    expect(contexts).toHaveLength(1);
  });

  it('passes the verified body bytes', async () => {
    const response = await send(hop({ method: 'POST', target: '/reports', body: { name: 'q1' } }));

    expect(response.status).toBe(200);
    expect((response.body as { body: string }).body).toBe('{"name":"q1"}');
  });

  it('rejects an unsigned call', async () => {
    const response = await send({ method: 'GET', url: `${origin}/reports`, headers: {} });

    expect(response.status).toBe(401);
    expect(problemCode(response)).toBe('signature_missing');
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(contexts).toHaveLength(0);
    expect(replayStore.claims).toBe(0);
  });

  it('rejects a caller not in the config', async () => {
    const response = await send(hop({ method: 'GET', target: '/reports', credentials: stranger }));

    expect(response.status).toBe(401);
    expect(problemCode(response)).toBe('caller_unknown');
    expect(contexts).toHaveLength(0);
    expect(replayStore.claims).toBe(0);
  });

  it('rejects a replayed hop', async () => {
    const wire = hop({ method: 'POST', target: '/reports', body: { name: 'q1' } });

    const first = await send(wire);
    const replay = await send(wire);

    expect(first.status).toBe(200);
    expect(replay.status).toBe(401);
    expect(problemCode(replay)).toBe('nonce_replayed');
    expect(contexts).toHaveLength(1);
  });

  it('rejects a body changed after signing', async () => {
    const wire = hop({ method: 'POST', target: '/reports', body: { name: 'q1' } });
    wire.body = Buffer.from('{"name":"q2"}');

    const response = await send(wire);

    expect(response.status).toBe(400);
    expect(problemCode(response)).toBe('digest_mismatch');
    expect(contexts).toHaveLength(0);
    expect(replayStore.claims).toBe(0);
  });

  it('rejects an identity header changed after signing', async () => {
    const wire = hop({ method: 'GET', target: '/reports' });
    wire.headers['rampart-identity'] = encodeIdentity({ ...alice, sub: 'u-bob' });

    const response = await send(wire);

    expect(response.status).toBe(401);
    expect(problemCode(response)).toBe('signature_invalid');
    expect(contexts).toHaveLength(0);
  });

  it('rejects malformed signature headers with a 4xx', async () => {
    const wire = hop({ method: 'GET', target: '/reports' });
    wire.headers['signature-input'] = 'hop=("@method";sf=?2)';

    const response = await send(wire);

    expect(response.status).toBe(400);
    expect(problemCode(response)).toBe('signature_malformed');
    expect(contexts).toHaveLength(0);
  });

  it('rejects a declared body over the limit', async () => {
    const response = await send(
      hop({ method: 'POST', target: '/reports', body: { pad: 'x'.repeat(300) } }),
    );

    expect(response.status).toBe(413);
    expect(problemCode(response)).toBe('body_too_large');
    expect(response.headers.connection).toBe('close');
    expect(contexts).toHaveLength(0);
    expect(replayStore.claims).toBe(0);
  });

  it('rejects a chunked body over the limit', async () => {
    const wire = hop({
      method: 'POST',
      target: '/reports',
      body: Buffer.from(JSON.stringify({ pad: 'x'.repeat(300) })),
    });
    const response = await sendChunked(wire.url, wire.headers, wire.body as Uint8Array);

    expect(response.status).toBe(413);
    expect(response.code).toBe('body_too_large');
    expect(contexts).toHaveLength(0);
  });

  it('turns a thrown RampartError into its problem', async () => {
    const response = await send(hop({ method: 'GET', target: '/forbidden' }));

    expect(response.status).toBe(403);
    expect(problemCode(response)).toBe('permission_denied');
  });

  it('answers a handler crash with a bare 500', async () => {
    const response = await send(hop({ method: 'GET', target: '/crash' }));

    expect(response.status).toBe(500);
    expect(problemCode(response)).toBe('internal_error');
    expect(JSON.stringify(response.body)).not.toContain('secret');
  });

  it('rejects invalid options at construction', () => {
    expect(() =>
      withRampart(() => undefined, {
        authority: '',
        callers: {},
        replayStore,
      }),
    ).toThrow(TypeError);
  });
});

// Sends the body with Transfer-Encoding: chunked, so the adapter cannot reject it up front.
async function sendChunked(
  url: string,
  headers: Record<string, string>,
  body: Uint8Array,
): Promise<{ status: number; code: unknown }> {
  const { request } = await import('node:http');
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        host: target.hostname,
        port: target.port,
        method: 'POST',
        path: target.pathname,
        headers: { ...headers, 'transfer-encoding': 'chunked' },
        agent: false,
      },
      (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('end', () => {
          const problem = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { code: unknown };
          resolve({ status: incoming.statusCode ?? 0, code: problem.code });
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.write(body.subarray(0, 100));
    outgoing.end(body.subarray(100));
  });
}
