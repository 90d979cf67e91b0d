import type { FastifyBaseLogger } from 'fastify';

import type { AuditLog } from '../audit/audit-entry.js';
import type { GatewayStateStore } from '../replay/rate-limit-store.js';
import type { RampartKeys } from '../session/key-file.js';
import type { UserStore } from '../session/user-store.js';
import type { GatewayConfig } from './config.js';
import type { LoginLimiter } from './login-limiter.js';
import type { GatewayMetrics } from './metrics.js';
import type { RouteTable } from './route-table.js';
import type { StoreHealth } from './store-health.js';
import type { TokenCache } from './token-cache.js';

/** Everything the gateway's hooks and routes share, built once at start-up. */
export interface GatewayContext {
  config: GatewayConfig;
  keys: RampartKeys;
  /** Nonces, revocations and rate-limit counters: in process, or Redis when scaled out. */
  replayStore: GatewayStateStore;
  userStore: UserStore;
  auditLog: AuditLog;
  routes: RouteTable;
  loginLimiter: LoginLimiter;
  tokenCache: TokenCache;
  /** Whether each store responds; updated by every store call and by `/readyz`. */
  health: StoreHealth;
  metrics: GatewayMetrics;
  /** Origins clients may sign for; resolved once the listening port is known. */
  origins(): readonly URL[];
  logger: FastifyBaseLogger;
}
