import { RampartError } from '../errors.js';

/** Name of the header that carries the idempotency key of an unsafe request, in lowercase. */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';

/** Maximum length of an idempotency key, in characters. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

/**
 * Reads an `Idempotency-Key` value as an opaque string. A value of visible ASCII without spaces
 * is accepted, so a repeated header, which Node joins with `, `, is rejected too.
 *
 * @param value the header value from Node's `IncomingMessage.headers`.
 * @throws RampartError `idempotency_key_missing` when absent or empty, `request_malformed` (field
 *   `Idempotency-Key`) when longer than {@link MAX_IDEMPOTENCY_KEY_LENGTH} or not visible ASCII.
 */
export function readIdempotencyKey(value: string | readonly string[] | undefined): string {
  if (value === undefined || value === '') throw new RampartError('idempotency_key_missing');
  if (typeof value !== 'string' || !isValidIdempotencyKey(value)) {
    throw new RampartError('request_malformed', { field: 'Idempotency-Key' });
  }
  return value;
}

/** Returns true when `value` is a usable idempotency key (see {@link readIdempotencyKey}). */
export function isValidIdempotencyKey(value: string): boolean {
  return value.length <= MAX_IDEMPOTENCY_KEY_LENGTH && /^[\x21-\x7e]+$/.test(value);
}
