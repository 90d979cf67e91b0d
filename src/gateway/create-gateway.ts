import { mkdirSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';

import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import pino, { type Logger } from 'pino';

import type { AuditLog } from '../audit/audit-entry.js';
import { RampartError, toProblem, PROBLEM_CONTENT_TYPE } from '../errors.js';
import type { GatewayStateStore } from '../replay/rate-limit-store.js';
import { ensureKeyFile, type RampartKeys } from '../session/key-file.js';
import type { UserStore } from '../session/user-store.js';
import { publicOrigins, type GatewayConfig } from './config.js';
import { buildUpstreams, hopCredentials } from './forward.js';
import type { GatewayContext } from './gateway-context.js';
import { LoginLimiter } from './login-limiter.js';
import { GatewayMetrics } from './metrics.js';
import { rampartGateway } from './plugin.js';
import { RouteTable } from './route-table.js';
import { monitorStore, StoreHealth } from './store-health.js';
import { openStores, type StoreEnvironment } from './stores.js';
import { TokenCache } from './token-cache.js';

/** Stores and keys that replace the embedded defaults, for tests and scaled-out deployments. */
export interface GatewayOverrides {
  keys?: RampartKeys;
  replayStore?: GatewayStateStore;
  userStore?: UserStore;
  auditLog?: AuditLog;
  logger?: Logger | false;
  /**
   * Variables that select the stores: `REDIS_URL` and `DATABASE_URL`. Default `process.env`.
   * A store given above wins over the one a variable selects.
   */
  env?: StoreEnvironment;
}

/** A built gateway: the Fastify app (not yet listening), its shared context and a closer. */
export interface Gateway {
  app: FastifyInstance;
  context: GatewayContext;
  /**
   * Switches to a new key set without a restart: new tokens and hops are signed with its
   * current versions, and tokens open with any of its versions.
   *
   * @throws Error when a configured service's hop key is missing; the old keys stay then.
   */
  reloadKeys(keys: RampartKeys): void;
  close(): Promise<void>;
}

/** Log paths that must never be written, whatever a caller logs by mistake. */
export const REDACTED_LOG_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers.signature',
  'req.headers["signature-input"]',
  'res.headers["set-cookie"]',
  '*.token',
  '*.password',
  '*.key',
];

/**
 * Builds a gateway from validated configuration: loads (or in development creates) the key file,
 * opens the embedded stores unless `overrides` supplies them, and registers the plugin.
 *
 * @throws Error when keys are missing in production mode or a hop key named by a service is absent.
 */
export async function createGateway(
  config: GatewayConfig,
  overrides: GatewayOverrides = {},
): Promise<Gateway> {
  const logger =
    overrides.logger === false
      ? pino({ level: 'silent' })
      : (overrides.logger ?? pino({ name: 'rampart', redact: REDACTED_LOG_PATHS }));

  let keys = overrides.keys;
  if (keys === undefined) {
    const hopKeyIds = Object.values(config.services).map((service) => service.hopKeyId);
    const ensured = ensureKeyFile(config.keysFile, {
      production: config.mode === 'production',
      hopKeyIds,
    });
    if (ensured.created) {
      logger.warn(
        { keysFile: config.keysFile },
        'created a development key file; use "rampart keygen" for production',
      );
    }
    keys = ensured.keys;
  }

  const upstreams = buildUpstreams(config, keys);
  mkdirSync(config.dataDir, { recursive: true });
  const stores = await openStores(config, keys, overrides.env ?? process.env, logger, overrides);

  const metrics = new GatewayMetrics({ processMetrics: config.metrics.enabled });
  const health = new StoreHealth({
    backends: stores.backends,
    stores: { replay: stores.replayStore, users: stores.userStore, audit: stores.auditLog },
    listener: {
      onFailure(store, reason, error) {
        metrics.storeError(store, reason);
        logger.error({ store, reason, err: error }, 'store call failed');
      },
      onStateChange(store, state) {
        metrics.storeState(store, state);
        const message = state === 'up' ? 'store is up again' : 'store is down; failing closed';
        logger[state === 'up' ? 'info' : 'warn'](
          { store, backend: stores.backends[store] },
          message,
        );
      },
    },
  });
  const replayStore = monitorStore(stores.replayStore, 'replay', health);

  const app: FastifyInstance = Fastify({
    loggerInstance: logger as FastifyInstance['log'],
    bodyLimit: config.bodyLimitBytes,
    exposeHeadRoutes: false,
    requestIdHeader: false,
    return503OnClosing: true,
    connectionTimeout: 30_000,
    requestTimeout: 30_000,
    // Node's HTTP parser rejects some requests (a repeated Content-Length, Content-Length with
    // Transfer-Encoding, obs-fold) before Fastify sees them; answer those in the problem format.
    clientErrorHandler: (error, socket) => writeRawProblem(error, socket),
    frameworkErrors: (error, request, reply) => {
      // Fastify rejects a malformed URL before any hook runs; answer with the same code the
      // path guard uses.
      const rejection = new RampartError(
        error.code === 'FST_ERR_BAD_URL' ? 'path_invalid' : 'request_malformed',
      );
      void (reply as FastifyReply)
        .code(rejection.status)
        .header('content-type', PROBLEM_CONTENT_TYPE)
        .send(Buffer.from(JSON.stringify(toProblem(rejection, String(request.id)))));
    },
  });

  let origins: URL[] | undefined;
  const context: GatewayContext & { upstreams: ReturnType<typeof buildUpstreams> } = {
    config,
    keys,
    replayStore,
    userStore: monitorStore(stores.userStore, 'users', health),
    auditLog: monitorStore(stores.auditLog, 'audit', health),
    routes: new RouteTable(config.routes),
    loginLimiter: new LoginLimiter(replayStore, config.login),
    tokenCache: new TokenCache(),
    health,
    metrics,
    logger: app.log,
    upstreams,
    origins() {
      if (origins === undefined) {
        const address = app.server.address() as AddressInfo | null;
        origins = publicOrigins(config, address?.port ?? config.listen.port);
      }
      return origins;
    },
  };

  await app.register(rampartGateway, context);

  return {
    app,
    context,
    reloadKeys(next) {
      const credentials = Object.entries(config.services).map(
        ([name, service]) => [name, hopCredentials(name, service.hopKeyId, next)] as const,
      );
      for (const [name, credentialsOf] of credentials) {
        const upstream = upstreams.get(name);
        if (upstream !== undefined) upstream.credentials = credentialsOf;
      }
      context.keys = next;
      // Cached tokens were opened with the old key set; a retired key must stop opening them.
      context.tokenCache = new TokenCache();
      logger.info({ tokenKey: next.tokens.current.kid }, 'reloaded the key file');
    },
    async close() {
      await app.close();
      health.close();
      await Promise.all([...context.upstreams.values()].map((upstream) => upstream.pool.close()));
      await stores.close();
    },
  };
}

function writeRawProblem(error: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const rejection = new RampartError(
    error.code === 'HPE_HEADER_OVERFLOW' ? 'headers_too_large' : 'request_malformed',
  );
  const body = JSON.stringify(toProblem(rejection));
  socket.end(
    `HTTP/1.1 ${rejection.status} ${STATUS_CODES[rejection.status] ?? 'Bad Request'}\r\n` +
      `content-type: ${PROBLEM_CONTENT_TYPE}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `connection: close\r\n\r\n${body}`,
  );
}
