import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { RampartClient } from '../../src/client/rampart-client.js';
import { parseConfig } from '../../src/gateway/config.js';
import { createGateway, type Gateway } from '../../src/gateway/create-gateway.js';
import { MemoryReplayStore } from '../../src/replay/memory-replay-store.js';
import { listeningAuthority, rampartService, verifiedHop } from '../../src/service/index.js';
import { generateKeyFile, loadKeyFile, writeKeyFile } from '../../src/session/key-file.js';
import { SqliteUserStore } from '../../src/session/user-store.js';
import { hmacKey } from '../../src/signature/algorithms.js';

// The whole chain with the real service kit: Node SDK, gateway, hop, rampartService.
let dir: string;
let service: FastifyInstance;
let gateway: Gateway;
let baseUrl: string;
const received: Array<{ method: string; body: unknown }> = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rampart-sdk-service-'));
  const keysFile = join(dir, 'keys.json');
  writeKeyFile(keysFile, generateKeyFile(['gateway-ping']));
  const keys = loadKeyFile(keysFile);

  service = Fastify({ logger: false });
  await service.register(rampartService, {
    authority: () => listeningAuthority(service.server),
    callers: {
      'gateway-ping': {
        caller: 'gateway',
        key: hmacKey(keys.hop.get('gateway-ping') as Uint8Array),
      },
    },
    replayStore: new MemoryReplayStore(),
  });
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE'] as const) {
    service.route({
      method,
      url: '/api/ping',
      handler: async (request) => {
        verifiedHop(request);
        received.push({ method, body: request.body });
        return { ok: true };
      },
    });
  }
  await service.listen({ host: '127.0.0.1', port: 0 });
  const servicePort = (service.server.address() as AddressInfo).port;

  const config = parseConfig(
    {
      listen: { host: '127.0.0.1', port: 0 },
      keysFile,
      dataDir: dir,
      services: { ping: { url: `http://127.0.0.1:${servicePort}`, hopKeyId: 'gateway-ping' } },
      routes: ['POST', 'PUT', 'PATCH', 'DELETE'].map((method) => ({
        method,
        path: '/api/ping',
        service: 'ping',
        permission: 'ping',
      })),
      roles: { user: ['ping'] },
    },
    dir,
  );
  const users = new SqliteUserStore(join(dir, 'users.sqlite'));
  await users.upsert({
    id: 'u-1',
    username: 'user',
    password: 'password-for-test',
    roles: ['user'],
  });
  gateway = await createGateway(config, { keys, userStore: users, logger: false, env: {} });
  await gateway.app.listen({ host: '127.0.0.1', port: 0 });
  baseUrl = `http://127.0.0.1:${(gateway.app.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await gateway.close();
  await service.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('SDK through the gateway to a service-kit service', () => {
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
    it(`delivers a bodiless ${method}`, async () => {
      const client = new RampartClient({ baseUrl });
      await client.login('user', 'password-for-test');

      const response = await client.fetch('/api/ping', { method });

      expect(response.status, await response.clone().text()).toBe(200);
      expect(received.at(-1)?.method).toBe(method);
    });

    it(`delivers a ${method} with a JSON body`, async () => {
      const client = new RampartClient({ baseUrl });
      await client.login('user', 'password-for-test');

      const response = await client.fetch('/api/ping', { method, body: { n: 1 } });

      expect(response.status).toBe(200);
      expect(received.at(-1)?.body).toEqual({ n: 1 });
    });
  }
});
