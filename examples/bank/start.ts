/**
 * Starts the demo: the bank services on 127.0.0.1:8081-8084 and the gateway on 127.0.0.1:8080,
 * which also serves the web app at `/`, with a development key file and the demo users created
 * under var/ on first start.
 *
 * PORT overrides the gateway port, RAMPART_CONFIG the configuration file, RAMPART_LEDGER_PORT the
 * ledger port and RAMPART_WEB_DIR the folder of the built web app (default dist/web). The
 * accounts, payments and audit ports come from the service URLs in the configuration.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import pino from 'pino';

import { loadConfigFile } from '../../src/gateway/config.js';
import { createGateway, REDACTED_LOG_PATHS } from '../../src/gateway/create-gateway.js';
import { ensureKeyFile } from '../../src/session/key-file.js';
import { SqliteUserStore } from '../../src/session/user-store.js';
import { DEMO_PASSWORDS } from './demo-users.js';
import { addMissingHopKeys } from './dev-keys.js';
import { SEED_USERS } from './seed.js';
import { HOP_KEY_IDS, startBankServices, type HopKeyId } from './services.js';
import { registerWebApp } from './web-app.js';

const root = resolve(fileURLToPath(import.meta.url), '../../..');
const logger = pino({
  name: 'rampart-demo',
  level: process.env.LOG_LEVEL ?? 'info',
  redact: REDACTED_LOG_PATHS,
});

const config = loadConfigFile(process.env.RAMPART_CONFIG ?? join(root, 'rampart.config.json'));
if (process.env.PORT !== undefined) config.listen.port = Number(process.env.PORT);
mkdirSync(config.dataDir, { recursive: true });

const addedHopKeys = addMissingHopKeys(config.keysFile, HOP_KEY_IDS);
if (addedHopKeys.length > 0) {
  logger.warn({ keysFile: config.keysFile, added: addedHopKeys }, 'added hop keys to the key file');
}
const { keys, created } = ensureKeyFile(config.keysFile, {
  production: false,
  hopKeyIds: HOP_KEY_IDS,
});
if (created) logger.warn({ keysFile: config.keysFile }, 'created a development key file');

const users = new SqliteUserStore(join(config.dataDir, 'users.sqlite'));
if (users.count() === 0) {
  for (const user of SEED_USERS) {
    await users.upsert({
      id: user.id,
      username: user.username,
      password: DEMO_PASSWORDS[user.username] as string,
      roles: user.roles,
    });
  }
  logger.info({ users: SEED_USERS.length }, 'created the demo users');
}

const hopKeys = Object.fromEntries(
  HOP_KEY_IDS.map((id) => [id, keys.hop.get(id) as Uint8Array]),
) as Record<HopKeyId, Uint8Array>;
const withAudit = config.services.audit !== undefined;
const ports = {
  accounts: servicePort('accounts'),
  payments: servicePort('payments'),
  ledger: Number(process.env.RAMPART_LEDGER_PORT ?? 8082),
  ...(withAudit ? { audit: servicePort('audit') } : {}),
};
const bank = await startBankServices({
  dataDir: config.dataDir,
  hopKeys,
  logger,
  ports,
  // The gateway writes this file; the audit service opens it read-only for each request.
  ...(withAudit
    ? { audit: { file: join(config.dataDir, 'audit.sqlite'), publicKey: keys.audit.publicKey } }
    : {}),
});
const gateway = await createGateway(config, { keys, userStore: users, logger });

const webRoot = resolve(process.env.RAMPART_WEB_DIR ?? join(root, 'dist', 'web'));
if (existsSync(join(webRoot, 'index.html'))) {
  await registerWebApp(gateway.app, webRoot);
} else {
  logger.warn({ webRoot }, 'the web app is not built, so / is not served; run "npm run build:web"');
}
await gateway.app.listen({ host: config.listen.host, port: config.listen.port });

logger.info(
  { gateway: `http://${config.listen.host}:${config.listen.port}`, services: bank.urls },
  'demo bank is running; open the gateway URL in a browser or run "npm run demo:client"',
);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info('stopping');
  await gateway.close();
  await bank.close();
}
process.once('SIGINT', stop);
process.once('SIGTERM', stop);

function servicePort(name: string): number {
  const service = config.services[name];
  if (service === undefined)
    throw new Error(`the demo configuration needs a "services.${name}" entry`);
  return Number(new URL(service.url).port);
}
