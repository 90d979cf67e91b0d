import { join } from 'node:path';

import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';

import { RampartError } from '../../../src/errors.js';
import { MemoryReplayStore } from '../../../src/replay/memory-replay-store.js';
import type { ReplayStore } from '../../../src/replay/replay-store.js';
import {
  listeningAuthority,
  rampartService,
  readIdempotencyKey,
  requireCaller,
  requirePermission,
  verifiedHop,
  type HopCaller,
} from '../../../src/service/index.js';
import { CAPITAL_ACCOUNT, SEED_ACCOUNTS } from '../seed.js';
import { HISTORY_LIMIT, readLimit } from '../query-limit.js';
import { LedgerStore } from './ledger-store.js';
import { formatMinor, parseAmount } from './money.js';
import { readTransferBody } from './transfer-body.js';

/** Options of {@link createLedgerService}. */
export interface LedgerServiceOptions {
  /** Folder of `ledger.sqlite`; it must exist. */
  dataDir: string;
  /** Accepted callers by key id: the accounts and payments services. */
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

/** Name under which the accounts service calls the ledger. */
export const ACCOUNTS_CALLER = 'accounts';
/** Name under which the payments service calls the ledger. */
export const PAYMENTS_CALLER = 'payments';

/**
 * Creates the ledger service, not yet listening. It opens `<dataDir>/ledger.sqlite`, posts the
 * opening balances of the demo accounts once, and serves:
 *
 * - `GET /ledger/accounts/:id/balance` (callers accounts and payments, permission
 *   `accounts:read`): `{ accountId, balance, currency }`, or 404 `account_not_found`;
 * - `GET /ledger/accounts/:id/transactions?limit=N` (caller accounts, permission
 *   `accounts:read`): `{ accountId, transactions }`, the latest N transfers of the account (default
 *   20, at most 100), newest first, each with a signed amount; 404 `account_not_found`;
 * - `POST /ledger/transfers` (caller payments, permission `transfers:create`, `Idempotency-Key`
 *   required): posts `{ fromAccount, toAccount, amount, reference? }` and returns 201 with the
 *   transfer. A repeated key with the same transfer returns the stored result with the header
 *   `idempotent-replayed: true`, and with another transfer 409 `idempotency_key_conflict`.
 */
export function createLedgerService(options: LedgerServiceOptions): FastifyInstance {
  const app: FastifyInstance =
    options.logger === undefined || options.logger === false
      ? Fastify({ logger: false })
      : Fastify({ loggerInstance: options.logger });
  const store = new LedgerStore({
    file: join(options.dataDir, 'ledger.sqlite'),
    accounts: SEED_ACCOUNTS.map((account) => ({
      id: account.id,
      currency: account.currency,
      openingMinor: parseAmount(account.openingBalance),
    })),
    fundingAccount: CAPITAL_ACCOUNT,
  });
  const replayStore = options.replayStore ?? new MemoryReplayStore();

  void app.register(rampartService, {
    authority: options.authority ?? (() => listeningAuthority(app.server)),
    callers: options.callers,
    replayStore,
    ...(options.now ? { now: options.now } : {}),
  });
  void app.register(async (routes) => {
    routes.get<{ Params: { id: string } }>(
      '/ledger/accounts/:id/balance',
      {
        preHandler: [
          requireCaller(ACCOUNTS_CALLER, PAYMENTS_CALLER),
          requirePermission('accounts:read'),
        ],
      },
      async (request) => {
        const balance = store.balance(request.params.id);
        if (balance === undefined) throw new RampartError('account_not_found');
        return {
          accountId: request.params.id,
          balance: formatMinor(balance.balanceMinor),
          currency: balance.currency,
        };
      },
    );

    routes.get<{ Params: { id: string } }>(
      '/ledger/accounts/:id/transactions',
      { preHandler: [requireCaller(ACCOUNTS_CALLER), requirePermission('accounts:read')] },
      async (request) => {
        const limit = readLimit(request.query, HISTORY_LIMIT);
        const transactions = store.history(request.params.id, limit);
        if (transactions === undefined) throw new RampartError('account_not_found');
        return { accountId: request.params.id, transactions };
      },
    );

    routes.post(
      '/ledger/transfers',
      { preHandler: [requireCaller(PAYMENTS_CALLER), requirePermission('transfers:create')] },
      async (request, reply) => {
        const key = readIdempotencyKey(request.headers['idempotency-key']);
        const transfer = readTransferBody(request.body);
        const hop = verifiedHop(request);
        const outcome = store.postTransfer(hop.caller, key, transfer);
        request.log.info(
          { transferId: outcome.body.transferId, replayed: outcome.replayed },
          outcome.replayed ? 'transfer replayed' : 'transfer posted',
        );
        if (outcome.replayed) void reply.header('idempotent-replayed', 'true');
        return reply.status(outcome.status).send(outcome.body);
      },
    );
  });

  app.addHook('onClose', async () => {
    store.close();
    if (options.replayStore === undefined) await replayStore.close();
  });
  return app;
}
