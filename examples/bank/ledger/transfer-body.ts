import { RampartError } from '../../../src/errors.js';
import { parseAmount } from './money.js';

/** A transfer request body after validation. */
export interface TransferBody {
  fromAccount: string;
  toAccount: string;
  /** The amount as sent, such as `25.00`. */
  amount: string;
  /** The same amount in minor units. */
  amountMinor: number;
  reference?: string;
}

const ACCOUNT_ID_PATTERN = /^[A-Za-z0-9-]{1,64}$/;
const MAX_REFERENCE_LENGTH = 140;
// Printable text only: no controls, no bidirectional overrides or isolates (which can make
// "pay \u202Egnp.exe" display as "pay exe.png"), no lone surrogates, no noncharacters.
const SAFE_REFERENCE =
  /^(?:(?![\u200e\u200f\u202a-\u202e\u2066-\u2069\ufffe\uffff])[\x20-\x7e\u00a0-\ud7ff\ue000-\uffff]|[\ud800-\udbff][\udc00-\udfff])*$/;

const ALLOWED_FIELDS = new Set(['fromAccount', 'toAccount', 'amount', 'reference']);

/**
 * Validates a transfer body `{ fromAccount, toAccount, amount, reference? }`. Unknown fields are
 * rejected, so that a client never believes the ledger honoured a field it ignored.
 *
 * @throws RampartError `request_malformed` naming the field (also when both accounts are the
 *   same), or `amount_invalid`.
 */
export function readTransferBody(body: unknown): TransferBody {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new RampartError('request_malformed', { field: 'body' });
  }
  const record = body as Record<string, unknown>;
  for (const name of Object.keys(record)) {
    if (!ALLOWED_FIELDS.has(name)) throw new RampartError('request_malformed', { field: name });
  }

  const { fromAccount, toAccount, amount, reference } = record;
  if (typeof fromAccount !== 'string' || !ACCOUNT_ID_PATTERN.test(fromAccount)) {
    throw new RampartError('request_malformed', { field: 'fromAccount' });
  }
  if (typeof toAccount !== 'string' || !ACCOUNT_ID_PATTERN.test(toAccount)) {
    throw new RampartError('request_malformed', { field: 'toAccount' });
  }
  if (fromAccount === toAccount)
    throw new RampartError('request_malformed', { field: 'toAccount' });
  const amountMinor = parseAmount(amount);
  if (
    reference !== undefined &&
    (typeof reference !== 'string' ||
      reference.length > MAX_REFERENCE_LENGTH ||
      !SAFE_REFERENCE.test(reference))
  ) {
    throw new RampartError('request_malformed', { field: 'reference' });
  }

  return {
    fromAccount,
    toAccount,
    amount: amount as string,
    amountMinor,
    ...(reference === undefined ? {} : { reference }),
  };
}
