import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';

import { MemoryReplayStore } from '../../../src/replay/memory-replay-store.js';
import type { ReplayStore } from '../../../src/replay/replay-store.js';
import {
  createHopClient,
  listeningAuthority,
  rampartService,
  readIdempotencyKey,
  requirePermission,
  verifiedHop,
  type HopCaller,
  type HopCredentials,
} from '../../../src/service/index.js';
import { readTransferBody } from '../ledger/transfer-body.js';
import { runTransfer } from './transfer-workflow.js';

/** Connection settings of an upstream service: base URL, hop credentials and deadline. */
export interface UpstreamSettings {
  baseUrl: string;
  credentials: HopCredentials;
  /** Deadline per call in milliseconds. Default 5000. */
  timeoutMs?: number;
}

/** Options of {@link createPaymentsService}. */
export interface PaymentsServiceOptions {
  /** Accepted callers by key id: the gateway. */
  callers: Readonly<Record<string, HopCaller>>;
  /** The accounts service, called with key `payments-accounts`. */
  accounts: UpstreamSettings;
  /** The ledger, called with key `payments-ledger`. */
  ledger: UpstreamSettings;
  /** This service's `host:port` as callers address it. Default: the address it listens on. */
  authority?: string;
  /** A pino logger, or false for none. Default false. */
  logger?: FastifyBaseLogger | false;
  /** Nonce store. Default: a new in-process store, closed with the service. */
  replayStore?: ReplayStore;
  /** Clock in milliseconds, for tests. Default `Date.now`. */
  now?: () => number;
}

/**
 * Creates the payments orchestrator, not yet listening. It serves `POST /api/transfers`
 * (permission `transfers:create`, `Idempotency-Key` required) with body
 * `{ fromAccount, toAccount, amount, reference? }` and returns 201
 * `{ transferId, fromAccount, toAccount, amount, status: 'posted' }`. A retry with the same key
 * returns the first result with the header `idempotent-replayed: true`.
 */
export function createPaymentsService(options: PaymentsServiceOptions): FastifyInstance {
  const app: FastifyInstance =
    options.logger === undefined || options.logger === false
      ? Fastify({ logger: false })
      : Fastify({ loggerInstance: options.logger });
  const upstreams = {
    accounts: createHopClient(options.accounts),
    ledger: createHopClient(options.ledger),
  };
  const replayStore = options.replayStore ?? new MemoryReplayStore();

  void app.register(rampartService, {
    authority: options.authority ?? (() => listeningAuthority(app.server)),
    callers: options.callers,
    replayStore,
    ...(options.now ? { now: options.now } : {}),
  });
  void app.register(async (routes) => {
    routes.post(
      '/api/transfers',
      { preHandler: requirePermission('transfers:create') },
      async (request, reply) => {
        const clientKey = readIdempotencyKey(request.headers['idempotency-key']);
        const transfer = readTransferBody(request.body);
        const { identity } = verifiedHop(request);

        const outcome = await runTransfer(upstreams, identity, clientKey, transfer);
        request.log.info(
          { transferId: outcome.body.transferId, replayed: outcome.replayed },
          outcome.replayed ? 'transfer replayed' : 'transfer posted',
        );
        if (outcome.replayed) void reply.header('idempotent-replayed', 'true');
        return reply.status(201).send(outcome.body);
      },
    );
  });

  app.addHook('onClose', async () => {
    await Promise.all([upstreams.accounts.close(), upstreams.ledger.close()]);
    if (options.replayStore === undefined) await replayStore.close();
  });
  return app;
}
