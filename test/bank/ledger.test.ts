import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { hmacKey } from '../../src/signature/algorithms.js';
import { listeningAuthority } from '../../src/service/index.js';
import { createLedgerService } from '../../examples/bank/ledger/ledger-service.js';
import type { HopKeyId } from '../../examples/bank/services.js';
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
let ledger: FastifyInstance;
let origin: string;
let keyCounter = 0;

function startLedger(): Promise<FastifyInstance> {
  const app = createLedgerService({
    dataDir: dataDir.path,
    callers: {
      'payments-ledger': { caller: 'payments', key: hmacKey(keys['payments-ledger']) },
      'accounts-ledger': { caller: 'accounts', key: hmacKey(keys['accounts-ledger']) },
    },
    logger: false,
  });
  return app.listen({ host: '127.0.0.1', port: 0 }).then(() => app);
}

function balanceOf(accountId: string, keyid: HopKeyId = 'accounts-ledger'): Promise<WireResponse> {
  return send(
    signedRequest({
      method: 'GET',
      origin,
      target: `/ledger/accounts/${accountId}/balance`,
      identity: identityFor('u-alice'),
      credentials: credentialsFor(keys, keyid),
    }),
  );
}

function postTransfer(
  body: unknown,
  options: { key?: string | null; keyid?: HopKeyId } = {},
): Promise<WireResponse> {
  const idempotencyKey =
    options.key === undefined ? `u-alice:key-${(keyCounter += 1)}` : options.key;
  return send(
    signedRequest({
      method: 'POST',
      origin,
      target: '/ledger/transfers',
      identity: identityFor('u-alice'),
      credentials: credentialsFor(keys, options.keyid ?? 'payments-ledger'),
      body,
      ...(idempotencyKey === null ? {} : { idempotencyKey }),
    }),
  );
}

function expectUnchanged(before: LedgerSnapshot): void {
  const after = readLedger(dataDir.path);
  expect(after.transfers).toBe(before.transfers);
  expect(after.postings).toBe(before.postings);
  expect(after.balances).toEqual(before.balances);
}

beforeAll(async () => {
  ledger = await startLedger();
  origin = `http://${listeningAuthority(ledger.server)}`;
});

afterAll(async () => {
  await ledger.close();
  dataDir.remove();
});

describe('ledger service', () => {
  it('seeds opening balances from the capital account', async () => {
    const snapshot = readLedger(dataDir.path);

    expect(snapshot.balances).toEqual({
      'acc-alice-checking': 100_000,
      'acc-alice-savings': 500_000,
      'acc-bob-checking': 75_000,
      'acc-bank-capital': -675_000,
    });
    expect(snapshot.sumMinor).toBe(0);
  });

  it('returns a balance as a decimal string', async () => {
    const response = await balanceOf('acc-alice-checking');

    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      accountId: 'acc-alice-checking',
      balance: '1000.00',
      currency: 'EUR',
    });
  });

  it('lets the payments service read balances too', async () => {
    const response = await balanceOf('acc-bob-checking', 'payments-ledger');

    expect(response.status).toBe(200);
  });

  it('returns 404 for an unknown account balance', async () => {
    const response = await balanceOf('acc-nobody');

    expect(response.status).toBe(404);
    expect(problemCode(response)).toBe('account_not_found');
  });

  it('posts a transfer as two postings summing to zero', async () => {
    const before = readLedger(dataDir.path);

    const response = await postTransfer({
      fromAccount: 'acc-alice-checking',
      toAccount: 'acc-bob-checking',
      amount: '25.5',
      reference: 'dinner',
    });

    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({
      fromAccount: 'acc-alice-checking',
      toAccount: 'acc-bob-checking',
      amount: '25.50',
      currency: 'EUR',
      reference: 'dinner',
    });
    const after = readLedger(dataDir.path);
    expect(after.transfers).toBe(before.transfers + 1);
    expect(after.postings).toBe(before.postings + 2);
    expect(after.balances['acc-alice-checking']).toBe(
      (before.balances['acc-alice-checking'] ?? 0) - 2550,
    );
    expect(after.balances['acc-bob-checking']).toBe(
      (before.balances['acc-bob-checking'] ?? 0) + 2550,
    );
    expect(after.sumMinor).toBe(0);
    expect(after.unbalancedTransfers).toBe(0);
  });

  it('replays the stored result for a repeated key', async () => {
    const body = {
      fromAccount: 'acc-alice-savings',
      toAccount: 'acc-bob-checking',
      amount: '10.00',
    };
    const first = await postTransfer(body, { key: 'u-alice:replay-1' });
    const afterFirst = readLedger(dataDir.path);

    const second = await postTransfer({ ...body, amount: '10' }, { key: 'u-alice:replay-1' });

    expect(first.status).toBe(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(second.status).toBe(201);
    expect(second.body).toEqual(first.body);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expectUnchanged(afterFirst);
  });

  it('rejects a repeated key with another transfer', async () => {
    const body = {
      fromAccount: 'acc-alice-savings',
      toAccount: 'acc-bob-checking',
      amount: '10.00',
    };
    await postTransfer(body, { key: 'u-alice:conflict-1' });
    const before = readLedger(dataDir.path);

    const response = await postTransfer(
      { ...body, amount: '11.00' },
      { key: 'u-alice:conflict-1' },
    );

    expect(response.status).toBe(409);
    expect(problemCode(response)).toBe('idempotency_key_conflict');
    expectUnchanged(before);
  });

  it('rejects insufficient funds and leaves balances unchanged', async () => {
    const before = readLedger(dataDir.path);

    const response = await postTransfer({
      fromAccount: 'acc-bob-checking',
      toAccount: 'acc-alice-checking',
      amount: '1000000.00',
    });

    expect(response.status).toBe(422);
    expect(problemCode(response)).toBe('insufficient_funds');
    expectUnchanged(before);
  });

  it('rejects a reference with bidi controls or lone surrogates', async () => {
    const before = readLedger(dataDir.path);

    for (const reference of ['pay \u202Egnp.exe', 'a\u2066b', '\ud800']) {
      const response = await postTransfer({
        fromAccount: 'acc-bob-checking',
        toAccount: 'acc-alice-checking',
        amount: '1.00',
        reference,
      });

      expect(response.status).toBe(400);
      expect(problemCode(response)).toBe('request_malformed');
    }
    expectUnchanged(before);
  });

  it('rejects a transfer into the capital account', async () => {
    const before = readLedger(dataDir.path);

    const response = await postTransfer({
      fromAccount: 'acc-bob-checking',
      toAccount: 'acc-bank-capital',
      amount: '1.00',
    });

    expect(response.status).toBe(404);
    expect(problemCode(response)).toBe('account_not_found');
    expectUnchanged(before);
  });

  it('stores nothing for a rejection, so the key stays usable', async () => {
    const rejected = await postTransfer(
      { fromAccount: 'acc-bob-checking', toAccount: 'acc-alice-checking', amount: '999999.00' },
      { key: 'u-alice:retry-1' },
    );
    const accepted = await postTransfer(
      { fromAccount: 'acc-bob-checking', toAccount: 'acc-alice-checking', amount: '1.00' },
      { key: 'u-alice:retry-1' },
    );

    expect(rejected.status).toBe(422);
    expect(accepted.status).toBe(201);
  });

  it.each([
    [
      'an unknown source',
      { fromAccount: 'acc-nobody', toAccount: 'acc-bob-checking', amount: '1.00' },
      404,
      'account_not_found',
    ],
    [
      'an unknown destination',
      { fromAccount: 'acc-alice-checking', toAccount: 'acc-nobody', amount: '1.00' },
      404,
      'account_not_found',
    ],
    [
      'a zero amount',
      { fromAccount: 'acc-alice-checking', toAccount: 'acc-bob-checking', amount: '0.00' },
      400,
      'amount_invalid',
    ],
    [
      'a negative amount',
      { fromAccount: 'acc-alice-checking', toAccount: 'acc-bob-checking', amount: '-5.00' },
      400,
      'amount_invalid',
    ],
    [
      'three decimals',
      { fromAccount: 'acc-alice-checking', toAccount: 'acc-bob-checking', amount: '1.005' },
      400,
      'amount_invalid',
    ],
    [
      'an exponent',
      { fromAccount: 'acc-alice-checking', toAccount: 'acc-bob-checking', amount: '1e3' },
      400,
      'amount_invalid',
    ],
    [
      'a numeric amount',
      { fromAccount: 'acc-alice-checking', toAccount: 'acc-bob-checking', amount: 5 },
      400,
      'amount_invalid',
    ],
    [
      'thirteen digits',
      { fromAccount: 'acc-alice-checking', toAccount: 'acc-bob-checking', amount: '1000000000000' },
      400,
      'amount_invalid',
    ],
    [
      'the same account twice',
      { fromAccount: 'acc-alice-checking', toAccount: 'acc-alice-checking', amount: '1.00' },
      400,
      'request_malformed',
    ],
    [
      'an unknown field',
      {
        fromAccount: 'acc-alice-checking',
        toAccount: 'acc-bob-checking',
        amount: '1.00',
        fee: '0',
      },
      400,
      'request_malformed',
    ],
    [
      'a missing account',
      { toAccount: 'acc-bob-checking', amount: '1.00' },
      400,
      'request_malformed',
    ],
    ['an array body', [1, 2], 400, 'request_malformed'],
  ])('rejects %s and writes nothing', async (_name, body, status, code) => {
    const before = readLedger(dataDir.path);

    const response = await postTransfer(body);

    expect(response.status).toBe(status);
    expect(problemCode(response)).toBe(code);
    expectUnchanged(before);
  });

  it('requires an Idempotency-Key', async () => {
    const before = readLedger(dataDir.path);

    const response = await postTransfer(
      { fromAccount: 'acc-alice-checking', toAccount: 'acc-bob-checking', amount: '1.00' },
      { key: null },
    );

    expect(response.status).toBe(400);
    expect(problemCode(response)).toBe('idempotency_key_missing');
    expectUnchanged(before);
  });

  it('rejects a transfer from the accounts service', async () => {
    const before = readLedger(dataDir.path);

    const response = await postTransfer(
      { fromAccount: 'acc-alice-checking', toAccount: 'acc-bob-checking', amount: '1.00' },
      { keyid: 'accounts-ledger' },
    );

    expect(response.status).toBe(403);
    expect(problemCode(response)).toBe('permission_denied');
    expectUnchanged(before);
  });

  it('rejects a caller the ledger does not know', async () => {
    const before = readLedger(dataDir.path);

    const response = await postTransfer(
      { fromAccount: 'acc-alice-checking', toAccount: 'acc-bob-checking', amount: '1.00' },
      { keyid: 'gateway-payments' },
    );

    expect(response.status).toBe(401);
    expect(problemCode(response)).toBe('caller_unknown');
    expectUnchanged(before);
  });

  it('never overdraws under concurrent transfers', async () => {
    const bob = (readLedger(dataDir.path).balances['acc-bob-checking'] ?? 0) / 100;
    const attempts = Math.floor(bob / 100) + 5;

    const responses = await Promise.all(
      Array.from({ length: attempts }, () =>
        postTransfer({
          fromAccount: 'acc-bob-checking',
          toAccount: 'acc-alice-savings',
          amount: '100.00',
        }),
      ),
    );

    const posted = responses.filter((response) => response.status === 201).length;
    const refused = responses.filter(
      (response) => problemCode(response) === 'insufficient_funds',
    ).length;
    expect(posted).toBe(Math.floor(bob / 100));
    expect(refused).toBe(attempts - posted);
    const after = readLedger(dataDir.path);
    expect(after.balances['acc-bob-checking']).toBeGreaterThanOrEqual(0);
    expect(after.sumMinor).toBe(0);
    expect(after.unbalancedTransfers).toBe(0);
  });

  it('seeds only once across restarts', async () => {
    const before = readLedger(dataDir.path);
    await ledger.close();

    ledger = await startLedger();
    origin = `http://${listeningAuthority(ledger.server)}`;

    expectUnchanged(before);
    const response = await balanceOf('acc-alice-checking');
    expect(response.status).toBe(200);
  });
});
