import type { KeyObject } from 'node:crypto';

import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';

import { verifyAuditTrail, type AuditVerifyResult } from '../../../src/audit/index.js';
import { RampartError } from '../../../src/errors.js';
import { MemoryReplayStore } from '../../../src/replay/memory-replay-store.js';
import type { ReplayStore } from '../../../src/replay/replay-store.js';
import {
  listeningAuthority,
  rampartService,
  requireCaller,
  requirePermission,
  type HopCaller,
} from '../../../src/service/index.js';
import { readLimit, type CountRange } from '../query-limit.js';
import { AuditReader } from './audit-reader.js';

/** Options of {@link createAuditService}. */
export interface AuditServiceOptions {
  /** The gateway's SQLite audit log. It is only ever opened read-only. */
  auditFile: string;
  /** Ed25519 public key of the gateway's audit key, so `verify` also checks checkpoints. */
  auditPublicKey?: KeyObject;
  /** Accepted callers by key id: the gateway. */
  callers: Readonly<Record<string, HopCaller>>;
  /** This service's `host:port` as callers address it. Default: the address it listens on. */
  authority?: string;
  /** A pino logger, or false for none. Default false. */
  logger?: FastifyBaseLogger | false;
  /** Nonce store. Default: a new in-process store, closed with the service. */
  replayStore?: ReplayStore;
  /** Clock in milliseconds, for tests. Default `Date.now`. */
  now?: () => number;
}

/** Name under which the gateway calls the audit service. */
export const GATEWAY_CALLER = 'gateway';
/** Permission every audit route requires. */
export const AUDIT_PERMISSION = 'audit:read';

/** Entries per list request: 50 unless `limit` requests up to 500. */
const ENTRIES_LIMIT: CountRange = { default: 50, max: 500 };
/** Minutes of activity per request: 60 unless `minutes` requests up to one day (1440). */
const ACTIVITY_MINUTES: CountRange = { default: 60, max: 1440 };

/**
 * Creates the audit service, not yet listening. It reads the gateway's audit log read-only and
 * serves, to the gateway only and with permission `audit:read`:
 *
 * - `GET /api/audit/entries?limit=N`: `{ entries }`, the latest N entries (default 50, at most
 *   500), newest first, without body digests;
 * - `GET /api/audit/verify`: the result of `verifyAuditTrail` over the whole chain, with the
 *   checkpoint signatures when `auditPublicKey` is given: `{ ok: true, entries, checkpoints,
 *   lastHash }` or `{ ok: false, seq, reason, entries }`;
 * - `GET /api/audit/activity?minutes=N`: `{ bucketSeconds: 60, buckets }`, allowed and rejected
 *   API calls per minute over the last N minutes (default 60, at most 1440), oldest first.
 *
 * Each route responds 503 `store_unavailable` when the log cannot be read.
 */
export function createAuditService(options: AuditServiceOptions): FastifyInstance {
  const app: FastifyInstance =
    options.logger === undefined || options.logger === false
      ? Fastify({ logger: false })
      : Fastify({ loggerInstance: options.logger });
  const reader = new AuditReader(options.auditFile, app.log);
  const replayStore = options.replayStore ?? new MemoryReplayStore();
  const now = options.now ?? Date.now;
  const preHandler = [requireCaller(GATEWAY_CALLER), requirePermission(AUDIT_PERMISSION)];

  void app.register(rampartService, {
    authority: options.authority ?? (() => listeningAuthority(app.server)),
    callers: options.callers,
    replayStore,
    ...(options.now ? { now: options.now } : {}),
  });
  void app.register(async (routes) => {
    routes.get('/api/audit/entries', { preHandler }, async (request) => {
      const limit = readLimit(request.query, ENTRIES_LIMIT);
      return { entries: reader.recentEntries(limit) };
    });

    routes.get('/api/audit/verify', { preHandler }, async (request) => {
      let result: AuditVerifyResult;
      try {
        result = verifyAuditTrail({
          file: options.auditFile,
          ...(options.auditPublicKey ? { publicKey: options.auditPublicKey } : {}),
        });
      } catch (error) {
        request.log.error({ err: error }, 'audit trail verification failed');
        throw new RampartError('store_unavailable');
      }
      if (!result.ok) request.log.warn({ seq: result.seq }, 'audit trail does not verify');
      return result;
    });

    routes.get('/api/audit/activity', { preHandler }, async (request) => {
      const minutes = readLimit(request.query, ACTIVITY_MINUTES, 'minutes');
      return { bucketSeconds: 60, buckets: reader.activity(minutes, now()) };
    });
  });

  app.addHook('onClose', async () => {
    if (options.replayStore === undefined) await replayStore.close();
  });
  return app;
}
