/**
 * Child processes for the gateway benchmark: a trivial upstream, a plain Fastify proxy and a
 * Rampart gateway. Each prints one JSON line with its port when it listens. Run as
 * `tsx bench/servers.ts <kind> <args>`.
 */
import { createServer } from 'node:http';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import proxy from '@fastify/http-proxy';
import Fastify from 'fastify';

import { parseConfig } from '../src/gateway/config.js';
import { createGateway } from '../src/gateway/create-gateway.js';
import { generateKeyFile, loadKeyFile, writeKeyFile } from '../src/session/key-file.js';
import { SqliteUserStore } from '../src/session/user-store.js';

/** Login used by the load client. */
export const BENCH_USER = { username: 'bench', password: 'bench-password-not-secret' };

const [kind, upstreamUrl] = process.argv.slice(2);

function announce(port: number): void {
  process.stdout.write(`${JSON.stringify({ port })}\n`);
}

if (kind === 'upstream') {
  const body = JSON.stringify({ accounts: [{ id: 'acc-1', balance: '100.00' }] });
  const server = createServer((_request, response) => {
    response.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    });
    response.end(body);
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => announce((server.address() as AddressInfo).port));
}

if (kind === 'proxy') {
  const app = Fastify({ logger: false });
  await app.register(proxy, { upstream: upstreamUrl as string });
  await app.listen({ host: '127.0.0.1', port: 0 });
  announce((app.server.address() as AddressInfo).port);
}

if (kind === 'rampart') {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-bench-gw-'));
  const keysFile = join(dir, 'keys.json');
  writeKeyFile(keysFile, generateKeyFile(['gateway-upstream']));
  const config = parseConfig(
    {
      listen: { host: '127.0.0.1', port: 0 },
      keysFile,
      dataDir: dir,
      services: { upstream: { url: upstreamUrl, hopKeyId: 'gateway-upstream' } },
      routes: [
        { method: 'GET', path: '/api/accounts', service: 'upstream', permission: 'accounts:read' },
      ],
      roles: { customer: ['accounts:read'] },
    },
    dir,
  );
  const users = new SqliteUserStore(join(dir, 'users.sqlite'));
  await users.upsert({
    id: 'u-bench',
    username: BENCH_USER.username,
    password: BENCH_USER.password,
    roles: ['customer'],
  });
  const gateway = await createGateway(config, {
    keys: loadKeyFile(keysFile),
    userStore: users,
    logger: false,
  });
  await gateway.app.listen({ host: '127.0.0.1', port: 0 });
  announce((gateway.app.server.address() as AddressInfo).port);
}
