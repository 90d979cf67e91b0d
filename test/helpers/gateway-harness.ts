import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { parseConfig, type GatewayConfigInput } from '../../src/gateway/config.js';
import {
  createGateway,
  type Gateway,
  type GatewayOverrides,
} from '../../src/gateway/create-gateway.js';
import { generateKeyFile, loadKeyFile, writeKeyFile } from '../../src/session/key-file.js';
import { SqliteUserStore } from '../../src/session/user-store.js';
import { startUpstreamRecorder } from './upstream-recorder.js';

/**
 * Returns a revocation file path in a new temporary folder. An in-process replay store given it
 * finds no record of an earlier process, so it accepts signed calls from its first second.
 */
export function newRevocationFile(): string {
  return join(mkdtempSync(join(tmpdir(), 'rampart-revocations-')), 'revocations.sqlite');
}

/** Password of every user the harness creates. */
export const TEST_PASSWORD = 'correct horse battery staple';

/**
 * Starts a real gateway on 127.0.0.1 in front of a recording upstream, with users alice
 * (customer) and tessa (teller) in a fresh SQLite file and a fresh key file. `stores` may
 * replace any store, the SQLite users included, and set the `env` that selects Redis or
 * PostgreSQL; by default no variable is read, so the embedded stores are used.
 */
export async function startGatewayHarness(
  overrides: Partial<GatewayConfigInput> = {},
  stores: Omit<GatewayOverrides, 'keys'> = {},
) {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-gw-'));
  const keysFile = join(dir, 'keys.json');
  writeKeyFile(keysFile, generateKeyFile(['gateway-echo']));
  const keys = loadKeyFile(keysFile);
  const upstream = await startUpstreamRecorder(keys.hop);

  const config = parseConfig(
    {
      listen: { host: '127.0.0.1', port: 0 },
      keysFile,
      dataDir: dir,
      services: { echo: { url: upstream.url, hopKeyId: 'gateway-echo' } },
      routes: [
        { method: 'GET', path: '/api/items', service: 'echo', permission: 'items:read' },
        { method: 'GET', path: '/api/items/:id', service: 'echo', permission: 'items:read' },
        { method: 'POST', path: '/api/items', service: 'echo', permission: 'items:write' },
        { method: 'DELETE', path: '/api/items/:id', service: 'echo', permission: 'items:write' },
        { method: 'GET', path: '/api/admin', service: 'echo', permission: 'admin:read' },
      ],
      roles: { customer: ['items:read', 'items:write'], teller: ['items:read'] },
      ...overrides,
    },
    dir,
  );

  const userStore = new SqliteUserStore(join(dir, 'users.sqlite'));
  await userStore.upsert({
    id: 'u-alice',
    username: 'alice',
    password: TEST_PASSWORD,
    roles: ['customer'],
  });
  await userStore.upsert({
    id: 'u-tessa',
    username: 'tessa',
    password: TEST_PASSWORD,
    roles: ['teller'],
  });

  const gateway: Gateway = await createGateway(config, {
    keys,
    userStore,
    logger: false,
    env: {},
    ...stores,
  });
  await gateway.app.listen({ host: '127.0.0.1', port: 0 });
  const port = (gateway.app.server.address() as AddressInfo).port;

  return {
    dir,
    keys,
    config,
    gateway,
    upstream,
    url: `http://127.0.0.1:${port}`,
    port,
    auditFile: join(dir, 'audit.sqlite'),
    async close() {
      await gateway.close();
      await upstream.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The harness type, for test files that keep one in a variable. */
export type GatewayHarness = Awaited<ReturnType<typeof startGatewayHarness>>;
