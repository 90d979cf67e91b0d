import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { GatewayConfigInput } from '../../src/gateway/config.js';
import { createPostgresPool } from '../../src/postgres/pool.js';
import { generateKeyFile, loadKeyFile, writeKeyFile } from '../../src/session/key-file.js';
import { PostgresUserStore } from '../../src/session/user-store-postgres.js';
import { DEMO_PASSWORDS } from '../../examples/bank/demo-users.js';
import { SEED_USERS } from '../../examples/bank/seed.js';
import { HOP_KEY_IDS, startBankServices, type HopKeyId } from '../../examples/bank/services.js';
import { sendRaw } from './raw-http.js';
import { freePort, uniqueKeyPrefix } from './stores.js';

const CLI_ENTRY = join(process.cwd(), 'test', 'helpers', 'cli-entry.ts');

/** Host name of every gateway instance, as a load balancer in front of them would present it. */
export const PUBLIC_HOST = 'bank.rampart.test';

/** One gateway process. */
export interface GatewayProcess {
  url: string;
  port: number;
  child: ChildProcess;
  /** What the process wrote to stderr and stdout, for failure messages. */
  output(): string;
  /** Sends `signal` and waits for the process to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Options of {@link startScaledBank}. */
export interface ScaledBankOptions {
  /** Redis for every instance; a unique key prefix keeps tests apart. */
  redisUrl: string;
  /** A migrated database for every instance. */
  databaseUrl: string;
  /** Gateway processes to start. */
  instances: number;
  /** Configuration merged over the test defaults. */
  config?: Partial<GatewayConfigInput>;
}

/**
 * Starts the demo bank services in this process and `instances` gateway processes on free
 * ports, all with one key file and one configuration, against one Redis and one PostgreSQL
 * database, with the demo users in PostgreSQL. Each instance serves `PUBLIC_HOST`.
 */
export async function startScaledBank(options: ScaledBankOptions) {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-scale-'));
  const keysFile = join(dir, 'keys.json');
  writeKeyFile(keysFile, generateKeyFile(HOP_KEY_IDS));
  const keys = loadKeyFile(keysFile);
  const hopKeys = Object.fromEntries(
    HOP_KEY_IDS.map((id) => [id, keys.hop.get(id) as Uint8Array]),
  ) as Record<HopKeyId, Uint8Array>;
  const bank = await startBankServices({
    dataDir: dir,
    hopKeys,
    ports: { accounts: 0, ledger: 0, payments: 0 },
  });

  const pool = createPostgresPool({ url: options.databaseUrl, maxConnections: 2 });
  const users = new PostgresUserStore(pool);
  for (const user of SEED_USERS) {
    await users.upsert({
      id: user.id,
      username: user.username,
      password: DEMO_PASSWORDS[user.username] as string,
      roles: user.roles,
    });
  }
  await pool.end();

  const configFile = join(dir, 'rampart.config.json');
  const config: GatewayConfigInput = {
    keysFile,
    dataDir: dir,
    publicOrigins: [`http://${PUBLIC_HOST}`],
    // The load tests run beside other suites on a two-core machine, where a Redis reply can take
    // longer than the 1 s default; a timeout would mark the store down and fail calls closed.
    stores: { redis: { keyPrefix: uniqueKeyPrefix(), commandTimeoutMs: 5000 } },
    services: {
      accounts: { url: bank.urls.accounts, hopKeyId: 'gateway-accounts' },
      payments: { url: bank.urls.payments, hopKeyId: 'gateway-payments' },
    },
    routes: [
      { method: 'GET', path: '/api/accounts', service: 'accounts', permission: 'accounts:read' },
      {
        method: 'GET',
        path: '/api/accounts/:id',
        service: 'accounts',
        permission: 'accounts:read',
      },
      {
        method: 'POST',
        path: '/api/transfers',
        service: 'payments',
        permission: 'transfers:create',
      },
    ],
    roles: {
      customer: ['accounts:read', 'transfers:create'],
      teller: ['accounts:read', 'accounts:read-any', 'transfers:create', 'transfers:create-any'],
      auditor: ['accounts:read', 'accounts:read-any', 'audit:read'],
    },
    ...options.config,
  };
  writeFileSync(configFile, JSON.stringify(config));

  const env = { REDIS_URL: options.redisUrl, DATABASE_URL: options.databaseUrl };
  const gateways: GatewayProcess[] = [];
  const startGateway = async (): Promise<GatewayProcess> => {
    const gateway = await startGatewayProcess(configFile, env);
    gateways.push(gateway);
    return gateway;
  };
  try {
    await Promise.all(Array.from({ length: options.instances }, () => startGateway()));
  } catch (error) {
    await Promise.all(gateways.map((gateway) => gateway.stop('SIGKILL')));
    await bank.close();
    throw error;
  }

  return {
    dir,
    keysFile,
    configFile,
    bank,
    gateways,
    /** Starts one more instance with the same configuration. */
    startGateway,
    async close() {
      await Promise.all(gateways.map((gateway) => gateway.stop()));
      await bank.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts `rampart start` as a child process on a free port and waits for `/readyz`. */
export async function startGatewayProcess(
  configFile: string,
  env: Record<string, string>,
): Promise<GatewayProcess> {
  const port = await freePort();
  // Node itself runs the gateway with tsx as a loader, rather than the tsx command, which would
  // run it in a child process of its own that a SIGKILL to tsx leaves running.
  const args = [
    '--import',
    'tsx',
    CLI_ENTRY,
    'start',
    '--config',
    configFile,
    '--port',
    String(port),
  ];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: string[] = [];
  child.stdout?.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const gateway: GatewayProcess = {
    url,
    port,
    child,
    output: () => chunks.join('').slice(-4000),
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill(signal);
      await exited;
    },
  };

  for (let attempt = 0; attempt < 150; attempt += 1) {
    if (child.exitCode !== null) break;
    const ready = await sendRaw(url, { method: 'GET', target: '/readyz' }).catch(() => undefined);
    if (ready?.status === 200) return gateway;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await gateway.stop('SIGKILL');
  throw new Error(`gateway on port ${port} did not become ready:\n${gateway.output()}`);
}

/** Header line that presents a request as addressed to the public host. */
export const PUBLIC_HOST_HEADER: [string, string] = ['host', PUBLIC_HOST];
