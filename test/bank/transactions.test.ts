import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  startBankServices,
  type BankServices,
  type HopKeyId,
} from '../../examples/bank/services.js';
import type { Identity } from '../../src/service/identity.js';
import { problemCode, send, signedRequest, type WireResponse } from '../service/helpers.js';
import { createTempDir, credentialsFor, identityFor, newHopKeys } from './fixtures.js';

interface Transaction {
  transferId: string;
  amount: string;
  currency: string;
  counterparty: string;
  counterpartyName?: string;
  reference?: string;
  postedAt: string;
}

const keys = newHopKeys();
const dataDir = createTempDir();
let bank: BankServices;

function history(
  target: string,
  identity: Identity = identityFor('u-alice'),
  keyid: HopKeyId = 'gateway-accounts',
): Promise<WireResponse> {
  return send(
    signedRequest({
      method: 'GET',
      origin: bank.urls.accounts,
      target,
      identity,
      credentials: credentialsFor(keys, keyid),
    }),
  );
}

function transactionsOf(response: WireResponse): Transaction[] {
  return (response.body as { transactions: Transaction[] }).transactions;
}

beforeAll(async () => {
  bank = await startBankServices({
    dataDir: dataDir.path,
    hopKeys: keys,
    ports: { accounts: 0, ledger: 0, payments: 0 },
    logger: false,
  });
  for (const [index, amount] of ['25.00', '7.50'].entries()) {
    const response = await send(
      signedRequest({
        method: 'POST',
        origin: bank.urls.payments,
        target: '/api/transfers',
        identity: identityFor('u-alice'),
        credentials: credentialsFor(keys, 'gateway-payments'),
        body: {
          fromAccount: 'acc-alice-checking',
          toAccount: 'acc-bob-checking',
          amount,
          reference: `rent ${index + 1}`,
        },
        idempotencyKey: `history-${index}`,
      }),
    );
    expect(response.status).toBe(201);
  }
});

afterAll(async () => {
  await bank.close();
  dataDir.remove();
});

describe('account transaction history', () => {
  it('lists transfers newest first with signed amounts', async () => {
    const response = await history('/api/accounts/acc-alice-checking/transactions');

    expect(response.status).toBe(200);
    expect((response.body as { accountId: string }).accountId).toBe('acc-alice-checking');
    const transactions = transactionsOf(response);
    expect(transactions.map((transaction) => transaction.amount)).toEqual([
      '-7.50',
      '-25.00',
      '1000.00',
    ]);
    expect(transactions[0]).toMatchObject({
      counterparty: 'acc-bob-checking',
      counterpartyName: 'Bob checking',
      currency: 'EUR',
      reference: 'rent 2',
      transferId: expect.stringMatching(/^tr-/),
    });
    expect(transactions[2]).toMatchObject({
      counterparty: 'acc-bank-capital',
      counterpartyName: 'Rampart Bank',
      reference: 'opening balance',
    });
  });

  it('shows the credit on the receiving account', async () => {
    const response = await history(
      '/api/accounts/acc-bob-checking/transactions',
      identityFor('u-bob'),
    );

    expect(response.status).toBe(200);
    expect(transactionsOf(response)[0]).toMatchObject({
      amount: '7.50',
      counterparty: 'acc-alice-checking',
      counterpartyName: 'Alice checking',
    });
  });

  it('honours limit', async () => {
    const response = await history('/api/accounts/acc-alice-checking/transactions?limit=1');

    expect(response.status).toBe(200);
    expect(transactionsOf(response)).toHaveLength(1);
  });

  it.each(['0', '101', 'ten', '1&limit=2'])('rejects limit=%s', async (limit) => {
    const response = await history(`/api/accounts/acc-alice-checking/transactions?limit=${limit}`);

    expect(response.status).toBe(400);
    expect(problemCode(response)).toBe('request_malformed');
  });

  it('forbids another customer’s history', async () => {
    const response = await history('/api/accounts/acc-bob-checking/transactions');

    expect(response.status).toBe(403);
    expect(problemCode(response)).toBe('resource_forbidden');
  });

  it('lets an auditor read any history', async () => {
    const response = await history(
      '/api/accounts/acc-bob-checking/transactions',
      identityFor('u-aude'),
    );

    expect(response.status).toBe(200);
  });

  it('returns 404 for an unknown account', async () => {
    const response = await history('/api/accounts/acc-nobody/transactions', identityFor('u-aude'));

    expect(response.status).toBe(404);
    expect(problemCode(response)).toBe('account_not_found');
  });

  it('keeps the ledger history route from the payments service', async () => {
    const response = await send(
      signedRequest({
        method: 'GET',
        origin: bank.urls.ledger,
        target: '/ledger/accounts/acc-alice-checking/transactions',
        identity: identityFor('u-alice'),
        credentials: credentialsFor(keys, 'payments-ledger'),
      }),
    );

    expect(response.status).toBe(403);
    expect(problemCode(response)).toBe('permission_denied');
  });
});
