import { RampartError } from '../../../src/errors.js';

// At most 12 integer digits and 2 decimals, so every amount in minor units (at most 14 digits)
// is a safe JavaScript integer. Sums can exceed that, so balances are bigints.
const AMOUNT_PATTERN = /^\d{1,12}(\.\d{1,2})?$/;

/**
 * Parses a positive decimal amount such as `25.00` or `7.5` into integer minor units (cents).
 * Amounts travel as strings so that no binary floating point ever touches money.
 *
 * @throws RampartError `amount_invalid` when `amount` is not a string of that form or is zero.
 */
export function parseAmount(amount: unknown): number {
  if (typeof amount !== 'string' || !AMOUNT_PATTERN.test(amount)) {
    throw new RampartError('amount_invalid', { field: 'amount' });
  }
  const [units = '0', cents = ''] = amount.split('.');
  const minor = Number(units) * 100 + Number(cents.padEnd(2, '0'));
  if (minor === 0) throw new RampartError('amount_invalid', { field: 'amount' });
  return minor;
}

/** Formats integer minor units as a decimal string with two places, such as `-12.05`. */
export function formatMinor(minor: number | bigint): string {
  const value = BigInt(minor);
  const sign = value < 0n ? '-' : '';
  const absolute = value < 0n ? -value : value;
  const cents = String(absolute % 100n).padStart(2, '0');
  return `${sign}${absolute / 100n}.${cents}`;
}
