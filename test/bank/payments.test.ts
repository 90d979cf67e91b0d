import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Identity } from '../../src/service/identity.js';
import {
  startBankServices,
  type BankServices,
  type HopKeyId,
} from '../../examples/bank/services.js';
import { problemCode, send, signedRequest, type WireResponse } from '../service/helpers.js';
import {
  createTempDir,
  credentialsFor,
  identityFor,
  newHopKeys,
  readLedger,
  type LedgerSnapshot,
} from './fixtures.js';

const keys = newHopKeys();
const dataDir = createTempDir();
let bank: BankServices;
let keyCounter = 0;

interface TransferOptions {
  identity?: Identity;
  /** Client idempotency key; null sends none. Default: a fresh key. */
  key?: string | null;
  keyid?: HopKeyId;
}

function transfer(body: unknown, options: TransferOptions = {}): Promise<WireResponse> {
  const idempotencyKey =
    options.key === undefined ? `client-key-${(keyCounter += 1)}` : options.key;
  return send(
    signedRequest({
      method: 'POST',
      origin: bank.urls.payments,
      target: '/api/transfers',
      identity: options.identity ?? identityFor('u-alice'),
      credentials: credentialsFor(keys, options.keyid ?? 'gateway-payments'),
      body,
      ...(idempotencyKey === null ? {} : { idempotencyKey }),
    }),
  );
}

async function balanceSeenBy(userId: string, accountId: string): Promise<string> {
  const response = await send(
    signedRequest({
      method: 'GET',
      origin: bank.urls.accounts,
      target: `/api/accounts/${accountId}`,
      identity: identityFor(userId),
      credentials: credentialsFor(keys, 'gateway-accounts'),
    }),
  );
  expect(response.status).toBe(200);
  return (response.body as { balance: string }).balance;
}

function expectUnchanged(before: LedgerSnapshot): void {
  const after = readLedger(dataDir.path);
  expect(after.transfers).toBe(before.transfers);
  expect(after.postings).toBe(before.postings);
  expect(after.balances).toEqual(before.balances);
}

beforeAll(async () => {
  bank = await startBankServices({
    dataDir: dataDir.path,
    hopKeys: keys,
    ports: { accounts: 0, ledger: 0, payments: 0 },
    logger: false,
  });
});

afterAll(async () => {
  await bank.close();
  dataDir.remove();
});

describe('payments workflow across the three services', () => {
  it('moves money and shows it in both accounts', async () => {
    const response = await transfer({
      fromAccount: 'acc-alice-checking',
      toAccount: 'acc-bob-checking',
      amount: '25.00',
    });

    expect(response.status).toBe(201);
    expect(response.body).toEqual({
      transferId: expect.stringMatching(/^tr-/),
      fromAccount: 'acc-alice-checking',
      toAccount: 'acc-bob-checking',
      amount: '25.00',
      status: 'posted',
    });
    expect(await balanceSeenBy('u-alice', 'acc-alice-checking')).toBe('975.00');
    expect(await balanceSeenBy('u-bob', 'acc-bob-checking')).toBe('775.00');
    expect(readLedger(dataDir.path).sumMinor).toBe(0);
  });

  it('moves money once for a retried key', async () => {
    const body = {
      fromAccount: 'acc-alice-savings',
      toAccount: 'acc-alice-checking',
      amount: '100.00',
    };
    const first = await transfer(body, { key: 'retry-key-1' });
    const afterFirst = readLedger(dataDir.path);

    const retry = await transfer(body, { key: 'retry-key-1' });

    expect(first.status).toBe(201);
    expect(retry.status).toBe(201);
    expect(retry.body).toEqual(first.body);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expectUnchanged(afterFirst);
  });

  it('keeps two users’ identical keys apart', async () => {
    const alice = await transfer(
      { fromAccount: 'acc-alice-savings', toAccount: 'acc-bob-checking', amount: '1.00' },
      { key: 'shared-key' },
    );
    const bob = await transfer(
      { fromAccount: 'acc-bob-checking', toAccount: 'acc-alice-savings', amount: '1.00' },
      { key: 'shared-key', identity: identityFor('u-bob') },
    );

    expect(alice.status).toBe(201);
    expect(bob.status).toBe(201);
    expect(bob.headers['idempotent-replayed']).toBeUndefined();
  });

  it('propagates an idempotency conflict', async () => {
    const body = {
      fromAccount: 'acc-alice-savings',
      toAccount: 'acc-alice-checking',
      amount: '5.00',
    };
    await transfer(body, { key: 'conflict-key-1' });
    const before = readLedger(dataDir.path);

    const response = await transfer({ ...body, amount: '6.00' }, { key: 'conflict-key-1' });

    expect(response.status).toBe(409);
    expect(problemCode(response)).toBe('idempotency_key_conflict');
    expectUnchanged(before);
  });

  it('forbids debiting another customer’s account', async () => {
    const before = readLedger(dataDir.path);

    const response = await transfer({
      fromAccount: 'acc-bob-checking',
      toAccount: 'acc-alice-checking',
      amount: '5.00',
    });

    expect(response.status).toBe(403);
    expect(problemCode(response)).toBe('resource_forbidden');
    expectUnchanged(before);
  });

  it('forbids debiting with read-any but without create-any', async () => {
    const before = readLedger(dataDir.path);
    const reader = identityFor('u-alice', [
      'accounts:read',
      'accounts:read-any',
      'transfers:create',
    ]);

    const response = await transfer(
      { fromAccount: 'acc-bob-checking', toAccount: 'acc-alice-checking', amount: '5.00' },
      { identity: reader },
    );

    expect(response.status).toBe(403);
    expect(problemCode(response)).toBe('resource_forbidden');
    expectUnchanged(before);
  });

  it('lets a teller debit a customer account', async () => {
    const response = await transfer(
      { fromAccount: 'acc-bob-checking', toAccount: 'acc-alice-checking', amount: '5.00' },
      { identity: identityFor('u-tessa') },
    );

    expect(response.status).toBe(201);
  });

  it('propagates an unknown source account', async () => {
    const before = readLedger(dataDir.path);

    const response = await transfer({
      fromAccount: 'acc-nobody',
      toAccount: 'acc-alice-checking',
      amount: '5.00',
    });

    expect(response.status).toBe(404);
    expect(problemCode(response)).toBe('account_not_found');
    expectUnchanged(before);
  });

  it('propagates an unknown destination account', async () => {
    const before = readLedger(dataDir.path);

    const response = await transfer({
      fromAccount: 'acc-alice-checking',
      toAccount: 'acc-nobody',
      amount: '5.00',
    });

    expect(response.status).toBe(404);
    expect(problemCode(response)).toBe('account_not_found');
    expectUnchanged(before);
  });

  it('propagates insufficient funds and leaves balances unchanged', async () => {
    const before = readLedger(dataDir.path);

    const response = await transfer({
      fromAccount: 'acc-alice-checking',
      toAccount: 'acc-bob-checking',
      amount: '99999.00',
    });

    expect(response.status).toBe(422);
    expect(problemCode(response)).toBe('insufficient_funds');
    expectUnchanged(before);
  });

  it('requires transfers:create', async () => {
    const before = readLedger(dataDir.path);

    const response = await transfer(
      { fromAccount: 'acc-alice-checking', toAccount: 'acc-bob-checking', amount: '1.00' },
      { identity: identityFor('u-aude') },
    );

    expect(response.status).toBe(403);
    expect(problemCode(response)).toBe('permission_denied');
    expectUnchanged(before);
  });

  it('requires an Idempotency-Key', async () => {
    const before = readLedger(dataDir.path);

    const response = await transfer(
      { fromAccount: 'acc-alice-checking', toAccount: 'acc-bob-checking', amount: '1.00' },
      { key: null },
    );

    expect(response.status).toBe(400);
    expect(problemCode(response)).toBe('idempotency_key_missing');
    expectUnchanged(before);
  });

  it('rejects an invalid amount before calling upstream', async () => {
    const before = readLedger(dataDir.path);

    const response = await transfer({
      fromAccount: 'acc-alice-checking',
      toAccount: 'acc-bob-checking',
      amount: '1.999',
    });

    expect(response.status).toBe(400);
    expect(problemCode(response)).toBe('amount_invalid');
    expectUnchanged(before);
  });

  it('rejects the gateway’s accounts key at payments', async () => {
    const before = readLedger(dataDir.path);

    const response = await transfer(
      { fromAccount: 'acc-alice-checking', toAccount: 'acc-bob-checking', amount: '1.00' },
      { keyid: 'gateway-accounts' },
    );

    expect(response.status).toBe(401);
    expect(problemCode(response)).toBe('caller_unknown');
    expectUnchanged(before);
  });

  it('rejects the gateway calling the ledger directly', async () => {
    const before = readLedger(dataDir.path);

    const response = await send(
      signedRequest({
        method: 'POST',
        origin: bank.urls.ledger,
        target: '/ledger/transfers',
        identity: identityFor('u-alice'),
        credentials: credentialsFor(keys, 'gateway-payments'),
        body: { fromAccount: 'acc-alice-checking', toAccount: 'acc-bob-checking', amount: '1.00' },
        idempotencyKey: 'direct-1',
      }),
    );

    expect(response.status).toBe(401);
    expect(problemCode(response)).toBe('caller_unknown');
    expectUnchanged(before);
  });

  it('keeps every transfer balanced', () => {
    const snapshot = readLedger(dataDir.path);

    expect(snapshot.sumMinor).toBe(0);
    expect(snapshot.unbalancedTransfers).toBe(0);
    expect(snapshot.postings).toBe(snapshot.transfers * 2);
  });
});
