import { RampartError } from '../errors.js';

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses a JSON request body from its raw bytes. The bytes must be valid UTF-8 (RFC 8259
 * section 8.1), and no object may carry a `__proto__` key or a `constructor` key whose value has
 * a `prototype`, because such keys poison prototypes when the object is later merged or copied.
 *
 * @throws RampartError `request_malformed` (field `body`) for invalid UTF-8, invalid JSON or a
 *   forbidden key.
 */
export function parseJsonBody(raw: Uint8Array): unknown {
  try {
    return JSON.parse(UTF8.decode(raw), rejectPrototypeKeys);
  } catch {
    throw new RampartError('request_malformed', { field: 'body' });
  }
}

function rejectPrototypeKeys(key: string, value: unknown): unknown {
  if (key === '__proto__') throw new SyntaxError('__proto__ key');
  if (
    key === 'constructor' &&
    typeof value === 'object' &&
    value !== null &&
    Object.hasOwn(value, 'prototype')
  ) {
    throw new SyntaxError('constructor.prototype key');
  }
  return value;
}
