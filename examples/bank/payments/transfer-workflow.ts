import { RampartError } from '../../../src/errors.js';
import {
  isValidIdempotencyKey,
  upstreamRejection,
  type HopClient,
  type Identity,
} from '../../../src/service/index.js';
import type { TransferBody } from '../ledger/transfer-body.js';

/** The services a transfer runs through. */
export interface TransferUpstreams {
  accounts: HopClient;
  ledger: HopClient;
}

/** Response body of a posted transfer. */
export interface TransferResult {
  transferId: string;
  fromAccount: string;
  toAccount: string;
  amount: string;
  status: 'posted';
}

/** Permission that lets a user debit an account owned by someone else, such as a teller. */
export const CREATE_ANY_PERMISSION = 'transfers:create-any';

/**
 * Runs one transfer: reads the source account from the accounts service with the user's
 * identity, so that its ownership check decides whether the user may see it, then posts the
 * transfer to the ledger. The ledger's idempotency key is `<subject>:<client key>`, so that two
 * users' keys never collide and a client retry never moves money twice.
 *
 * Rejections from the accounts service (`account_not_found`, `resource_forbidden`,
 * `permission_denied`) and from the ledger (`account_not_found`, `insufficient_funds`,
 * `idempotency_key_conflict`, `amount_invalid`, `request_malformed`) keep their code.
 *
 * @throws RampartError those codes, `resource_forbidden` when the user may read but not debit
 *   the source account, `request_malformed` when the combined key is too long, and
 *   `upstream_error`, `upstream_unavailable` or `upstream_timeout` for other upstream failures.
 */
export async function runTransfer(
  upstreams: TransferUpstreams,
  identity: Identity,
  clientKey: string,
  transfer: TransferBody,
): Promise<{ body: TransferResult; replayed: boolean }> {
  const ledgerKey = `${identity.sub}:${clientKey}`;
  if (!isValidIdempotencyKey(ledgerKey)) {
    throw new RampartError('request_malformed', { field: 'Idempotency-Key' });
  }

  const source = await upstreams.accounts.request({
    method: 'GET',
    target: `/api/accounts/${encodeURIComponent(transfer.fromAccount)}`,
    identity,
  });
  if (source.status !== 200) {
    throw upstreamRejection(source, [
      'account_not_found',
      'resource_forbidden',
      'permission_denied',
    ]);
  }
  // Reading an account is not the right to debit it: `accounts:read-any` lets auditors read
  // every account, so only owners and holders of the create-any permission may move money.
  const ownerId = (source.body as { ownerId?: unknown } | undefined)?.ownerId;
  if (typeof ownerId !== 'string') throw new RampartError('upstream_error');
  if (ownerId !== identity.sub && !identity.permissions.includes(CREATE_ANY_PERMISSION)) {
    throw new RampartError('resource_forbidden');
  }

  const posted = await upstreams.ledger.request({
    method: 'POST',
    target: '/ledger/transfers',
    identity,
    idempotencyKey: ledgerKey,
    body: {
      fromAccount: transfer.fromAccount,
      toAccount: transfer.toAccount,
      amount: transfer.amount,
      ...(transfer.reference === undefined ? {} : { reference: transfer.reference }),
    },
  });
  if (posted.status !== 201) {
    throw upstreamRejection(posted, [
      'account_not_found',
      'insufficient_funds',
      'idempotency_key_conflict',
      'amount_invalid',
      'request_malformed',
    ]);
  }

  const record = posted.body as Partial<
    Record<'transferId' | 'fromAccount' | 'toAccount' | 'amount', unknown>
  >;
  if (typeof record?.transferId !== 'string' || typeof record.amount !== 'string') {
    throw new RampartError('upstream_error');
  }
  return {
    body: {
      transferId: record.transferId,
      fromAccount: transfer.fromAccount,
      toAccount: transfer.toAccount,
      amount: record.amount,
      status: 'posted',
    },
    replayed: posted.headers['idempotent-replayed'] === 'true',
  };
}
