import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
} from 'fastify';

import { RampartError } from '../../../src/errors.js';
import { MemoryReplayStore } from '../../../src/replay/memory-replay-store.js';
import type { ReplayStore } from '../../../src/replay/replay-store.js';
import {
  createHopClient,
  listeningAuthority,
  rampartService,
  requireOwnership,
  requirePermission,
  upstreamRejection,
  verifiedHop,
  type HopCaller,
  type HopClient,
  type HopCredentials,
  type Identity,
} from '../../../src/service/index.js';
import type { AccountTransaction } from '../ledger/ledger-store.js';
import { HISTORY_LIMIT, readLimit } from '../query-limit.js';
import { CAPITAL_ACCOUNT, SEED_ACCOUNTS, type SeedAccount } from '../seed.js';

/** Options of {@link createAccountsService}. */
export interface AccountsServiceOptions {
  /** Accepted callers by key id: the gateway and the payments service. */
  callers: Readonly<Record<string, HopCaller>>;
  /** How to reach the ledger: its origin and this service's hop key there (`accounts-ledger`). */
  ledger: { baseUrl: string; credentials: HopCredentials; timeoutMs?: number };
  /** This service's `host:port` as callers address it. Default: the address it listens on. */
  authority?: string;
  /** A pino logger, or false for none. Default false. */
  logger?: FastifyBaseLogger | false;
  /** Nonce store. Default: a new in-process store, closed with the service. */
  replayStore?: ReplayStore;
  /** Clock in milliseconds, for tests. Default `Date.now`. */
  now?: () => number;
}

/** An account as this service returns it. */
export interface AccountView {
  id: string;
  ownerId: string;
  name: string;
  type: SeedAccount['type'];
  currency: string;
  /** Current balance from the ledger, such as `1000.00`. */
  balance: string;
}

/** A transfer in an account's history, with a display name for the other account. */
export interface TransactionView extends AccountTransaction {
  /** Name of the other account, such as `Bob checking`, for a known account. */
  counterpartyName?: string;
}

const READ_ANY = 'accounts:read-any';
const CAPITAL_ACCOUNT_NAME = 'Rampart Bank';

/**
 * Creates the accounts service, not yet listening. Account metadata comes from the demo seed
 * and balances from the ledger, fetched with the end user's identity. It serves, with
 * permission `accounts:read`:
 *
 * - `GET /api/accounts`: `{ accounts }`, the user's own accounts, or all of them with
 *   `accounts:read-any`;
 * - `GET /api/accounts/:id`: one account, 404 `account_not_found` when unknown, 403
 *   `resource_forbidden` when another user owns it and the identity lacks `accounts:read-any`;
 * - `GET /api/accounts/:id/transactions?limit=N`: `{ accountId, transactions }`, the latest N
 *   transfers of one account (default 20, at most 100) from the ledger, newest first, with the
 *   same 404 and 403 responses.
 */
export function createAccountsService(options: AccountsServiceOptions): FastifyInstance {
  const app: FastifyInstance =
    options.logger === undefined || options.logger === false
      ? Fastify({ logger: false })
      : Fastify({ loggerInstance: options.logger });
  const ledger = createHopClient(options.ledger);
  const replayStore = options.replayStore ?? new MemoryReplayStore();
  const accountsById = new Map(SEED_ACCOUNTS.map((account) => [account.id, account]));

  void app.register(rampartService, {
    authority: options.authority ?? (() => listeningAuthority(app.server)),
    callers: options.callers,
    replayStore,
    ...(options.now ? { now: options.now } : {}),
  });
  void app.register(async (routes) => {
    routes.get(
      '/api/accounts',
      { preHandler: requirePermission('accounts:read') },
      async (request) => {
        const { identity } = verifiedHop(request);
        const visible = SEED_ACCOUNTS.filter(
          (account) => account.ownerId === identity.sub || identity.permissions.includes(READ_ANY),
        );
        const accounts: AccountView[] = [];
        // One ledger call at a time keeps the load on the ledger bounded by the number of requests.
        for (const account of visible) accounts.push(await withBalance(ledger, account, identity));
        return { accounts };
      },
    );

    const accountOf = (request: FastifyRequest): SeedAccount => {
      const { id } = request.params as { id: string };
      const account = accountsById.get(id);
      if (account === undefined) throw new RampartError('account_not_found');
      return account;
    };

    const mayRead = [
      requirePermission('accounts:read'),
      requireOwnership((request) => {
        const { identity } = verifiedHop(request);
        return (
          accountOf(request).ownerId === identity.sub || identity.permissions.includes(READ_ANY)
        );
      }),
    ];

    routes.get('/api/accounts/:id', { preHandler: mayRead }, async (request) =>
      withBalance(ledger, accountOf(request), verifiedHop(request).identity),
    );

    routes.get('/api/accounts/:id/transactions', { preHandler: mayRead }, async (request) => {
      const limit = readLimit(request.query, HISTORY_LIMIT);
      const account = accountOf(request);
      const transactions = await history(ledger, account, limit, verifiedHop(request).identity);
      return { accountId: account.id, transactions };
    });
  });

  app.addHook('onClose', async () => {
    await ledger.close();
    if (options.replayStore === undefined) await replayStore.close();
  });
  return app;
}

async function history(
  ledger: HopClient,
  account: SeedAccount,
  limit: number,
  identity: Identity,
): Promise<TransactionView[]> {
  const response = await ledger.request({
    method: 'GET',
    target: `/ledger/accounts/${encodeURIComponent(account.id)}/transactions?limit=${limit}`,
    identity,
  });
  if (response.status !== 200) throw upstreamRejection(response, []);
  const transactions = (response.body as { transactions?: unknown } | undefined)?.transactions;
  if (!Array.isArray(transactions)) throw new RampartError('upstream_error');
  return (transactions as AccountTransaction[]).map((transaction) => {
    const name = accountName(transaction.counterparty);
    return name === undefined ? transaction : { ...transaction, counterpartyName: name };
  });
}

function accountName(accountId: string): string | undefined {
  if (accountId === CAPITAL_ACCOUNT.id) return CAPITAL_ACCOUNT_NAME;
  return SEED_ACCOUNTS.find((account) => account.id === accountId)?.name;
}

async function withBalance(
  ledger: HopClient,
  account: SeedAccount,
  identity: Identity,
): Promise<AccountView> {
  const response = await ledger.request({
    method: 'GET',
    target: `/ledger/accounts/${encodeURIComponent(account.id)}/balance`,
    identity,
  });
  if (response.status !== 200) throw upstreamRejection(response, []);
  const balance = (response.body as { balance?: unknown } | undefined)?.balance;
  if (typeof balance !== 'string') throw new RampartError('upstream_error');
  return {
    id: account.id,
    ownerId: account.ownerId,
    name: account.name,
    type: account.type,
    currency: account.currency,
    balance,
  };
}
