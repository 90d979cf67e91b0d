import { RampartError } from '../../src/errors.js';

/** The default and the largest value of a count parameter such as `limit`. */
export interface CountRange {
  default: number;
  max: number;
}

/** Transfers per account history request: 20 unless `limit` requests up to 100. */
export const HISTORY_LIMIT: CountRange = { default: 20, max: 100 };

/**
 * Reads a count query parameter (`limit` unless `name` names another): a decimal integer from
 * 1 to `range.max`, or `range.default` when the parameter is absent.
 *
 * @throws RampartError `request_malformed` naming the parameter for any other value, a repeated
 *   parameter included.
 */
export function readLimit(query: unknown, range: CountRange, name = 'limit'): number {
  const raw = (query as Record<string, unknown> | undefined)?.[name];
  if (raw === undefined) return range.default;
  if (typeof raw !== 'string' || !/^[1-9]\d{0,5}$/.test(raw) || Number(raw) > range.max) {
    throw new RampartError('request_malformed', { field: name });
  }
  return Number(raw);
}
