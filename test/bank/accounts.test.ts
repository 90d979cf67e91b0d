import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { hmacKey } from '../../src/signature/algorithms.js';
import type { Identity } from '../../src/service/identity.js';
import { listeningAuthority } from '../../src/service/index.js';
import { createAccountsService } from '../../examples/bank/accounts/accounts-service.js';
import { createLedgerService } from '../../examples/bank/ledger/ledger-service.js';
import type { HopKeyId } from '../../examples/bank/services.js';
import { problemCode, send, signedRequest, type WireResponse } from '../service/helpers.js';
import { createTempDir, credentialsFor, identityFor, newHopKeys } from './fixtures.js';

const keys = newHopKeys();
const dataDir = createTempDir();
let ledger: FastifyInstance;
let accounts: FastifyInstance;
let origin: string;
let ledgerClosed = false;

function getAccounts(
  target: string,
  identity: Identity,
  keyid: HopKeyId = 'gateway-accounts',
): Promise<WireResponse> {
  return send(
    signedRequest({
      method: 'GET',
      origin,
      target,
      identity,
      credentials: credentialsFor(keys, keyid),
    }),
  );
}

function accountIds(response: WireResponse): string[] {
  return (response.body as { accounts: Array<{ id: string }> }).accounts.map(
    (account) => account.id,
  );
}

beforeAll(async () => {
  ledger = createLedgerService({
    dataDir: dataDir.path,
    callers: { 'accounts-ledger': { caller: 'accounts', key: hmacKey(keys['accounts-ledger']) } },
    logger: false,
  });
  await ledger.listen({ host: '127.0.0.1', port: 0 });
  accounts = createAccountsService({
    callers: {
      'gateway-accounts': { caller: 'gateway', key: hmacKey(keys['gateway-accounts']) },
      'payments-accounts': { caller: 'payments', key: hmacKey(keys['payments-accounts']) },
    },
    ledger: {
      baseUrl: `http://${listeningAuthority(ledger.server)}`,
      credentials: credentialsFor(keys, 'accounts-ledger'),
    },
    logger: false,
  });
  await accounts.listen({ host: '127.0.0.1', port: 0 });
  origin = `http://${listeningAuthority(accounts.server)}`;
});

afterAll(async () => {
  await accounts.close();
  if (!ledgerClosed) await ledger.close();
  dataDir.remove();
});

describe('accounts service', () => {
  it('lists only the customer’s own accounts with balances', async () => {
    const response = await getAccounts('/api/accounts', identityFor('u-alice'));

    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      accounts: [
        expect.objectContaining({
          id: 'acc-alice-checking',
          ownerId: 'u-alice',
          balance: '1000.00',
          currency: 'EUR',
        }),
        expect.objectContaining({
          id: 'acc-alice-savings',
          ownerId: 'u-alice',
          balance: '5000.00',
        }),
      ],
    });
  });

  it('lists every account with accounts:read-any', async () => {
    const response = await getAccounts('/api/accounts', identityFor('u-aude'));

    expect(response.status).toBe(200);
    expect(accountIds(response)).toEqual([
      'acc-alice-checking',
      'acc-alice-savings',
      'acc-bob-checking',
    ]);
  });

  it('returns an owned account', async () => {
    const response = await getAccounts('/api/accounts/acc-bob-checking', identityFor('u-bob'));

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ id: 'acc-bob-checking', balance: '750.00' });
  });

  it('forbids another customer’s account', async () => {
    const response = await getAccounts('/api/accounts/acc-bob-checking', identityFor('u-alice'));

    expect(response.status).toBe(403);
    expect(problemCode(response)).toBe('resource_forbidden');
  });

  it('lets a teller read any account', async () => {
    const response = await getAccounts('/api/accounts/acc-bob-checking', identityFor('u-tessa'));

    expect(response.status).toBe(200);
  });

  it('returns 404 for an unknown account', async () => {
    const response = await getAccounts('/api/accounts/acc-nobody', identityFor('u-aude'));

    expect(response.status).toBe(404);
    expect(problemCode(response)).toBe('account_not_found');
  });

  it('does not expose the capital account', async () => {
    const response = await getAccounts('/api/accounts/acc-bank-capital', identityFor('u-aude'));

    expect(response.status).toBe(404);
    expect(problemCode(response)).toBe('account_not_found');
  });

  it('requires accounts:read', async () => {
    const response = await getAccounts(
      '/api/accounts',
      identityFor('u-alice', ['transfers:create']),
    );

    expect(response.status).toBe(403);
    expect(problemCode(response)).toBe('permission_denied');
  });

  it('accepts the payments service as a caller', async () => {
    const response = await getAccounts(
      '/api/accounts/acc-alice-checking',
      identityFor('u-alice'),
      'payments-accounts',
    );

    expect(response.status).toBe(200);
  });

  it('rejects a caller it does not know', async () => {
    const response = await getAccounts('/api/accounts', identityFor('u-alice'), 'gateway-payments');

    expect(response.status).toBe(401);
    expect(problemCode(response)).toBe('caller_unknown');
  });

  it('answers 502 when the ledger is down', async () => {
    await ledger.close();
    ledgerClosed = true;

    const response = await getAccounts('/api/accounts', identityFor('u-alice'));

    expect(response.status).toBe(502);
    expect(problemCode(response)).toBe('upstream_unavailable');
  });
});
