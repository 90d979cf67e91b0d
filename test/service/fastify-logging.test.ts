import { Writable } from 'node:stream';

import Fastify from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { MemoryReplayStore } from '../../src/replay/memory-replay-store.js';
import { listeningAuthority, rampartService } from '../../src/service/index.js';
import type { HopCredentials } from '../../src/service/hop-signature.js';
import { identityOf, newHopKey, send, signedRequest } from './helpers.js';

const gateway: HopCredentials = { keyid: 'gateway-logs', key: newHopKey() };
const lines: Array<Record<string, unknown>> = [];
const app = Fastify({
  loggerInstance: pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
        callback();
      },
    }),
  ),
});
let origin: string;

beforeAll(async () => {
  await app.register(rampartService, {
    authority: () => listeningAuthority(app.server),
    callers: { [gateway.keyid]: { caller: 'gateway', key: gateway.key } },
    replayStore: new MemoryReplayStore(),
  });
  app.get('/crash', async () => {
    throw new Error('upstream said no');
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  origin = `http://${listeningAuthority(app.server)}`;
});

afterAll(async () => {
  await app.close();
});

describe('rampartService logging', () => {
  it('logs a rejection at info with its code and no headers', async () => {
    const wire = signedRequest({
      method: 'GET',
      origin,
      target: '/crash',
      identity: identityOf('u-alice', []),
      credentials: gateway,
    });
    const signature = wire.headers['signature']!;
    const first = signature.indexOf(':') + 1;
    const flipped = signature[first] === 'A' ? 'B' : 'A';
    wire.headers['signature'] =
      `${signature.slice(0, first)}${flipped}${signature.slice(first + 1)}`;
    lines.length = 0;

    await send(wire);

    const rejection = lines.find((line) => line.msg === 'request rejected');
    expect(rejection?.level).toBe(30);
    expect(rejection?.code).toBe('signature_invalid');
    const logged = JSON.stringify(lines);
    expect(logged).not.toContain(wire.headers['signature']);
    expect(logged).not.toContain(wire.headers['rampart-identity']);
  });

  it('logs a handler crash at error with the key id', async () => {
    lines.length = 0;

    await send(
      signedRequest({
        method: 'GET',
        origin,
        target: '/crash',
        identity: identityOf('u-alice', []),
        credentials: gateway,
      }),
    );

    const failure = lines.find((line) => line.msg === 'request failed');
    expect(failure?.level).toBe(50);
    expect(failure?.code).toBe('internal_error');
    expect(failure?.keyid).toBe('gateway-logs');
    expect((failure?.err as { message?: string } | undefined)?.message).toBe('upstream said no');
  });
});
