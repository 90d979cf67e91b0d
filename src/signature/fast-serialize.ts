import {
  serializeBareItem,
  serializeItem,
  serializeParameters,
  type Parameters,
} from 'structured-headers';

// Fast paths for the RFC 8941 serializations that every signature base needs: an sf-string
// component name with Integer, String and Boolean parameters. structured-headers 2.1 checks
// each string with a regular expression and escapes it with a callback, which a profile of
// `npm run bench` showed as about a third of base building. Each function returns exactly what
// structured-headers returns and hands every other case to it; a property test compares them.

// Printable ASCII without `"` and `\`: serialized as is between quotes (RFC 8941 section 4.1.6).
const PLAIN_STRING = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
const KEY = /^[a-z*][a-z0-9_\-.*]*$/;
const MAX_INTEGER = 999_999_999_999_999;

/** Serializes an sf-string; same output as structured-headers' `serializeBareItem`. */
export function serializeStringFast(value: string): string {
  return PLAIN_STRING.test(value) ? `"${value}"` : serializeBareItem(value);
}

/** Serializes parameters; same output as structured-headers' `serializeParameters`. */
export function serializeParametersFast(params: Parameters): string {
  let out = '';
  for (const [key, value] of params) {
    if (!KEY.test(key)) return serializeParameters(params);
    if (value === true) {
      out += `;${key}`;
    } else if (
      typeof value === 'number' &&
      Number.isInteger(value) &&
      Math.abs(value) <= MAX_INTEGER
    ) {
      out += `;${key}=${value}`;
    } else if (typeof value === 'string' && PLAIN_STRING.test(value)) {
      out += `;${key}="${value}"`;
    } else {
      out += `;${key}=${serializeBareItem(value)}`;
    }
  }
  return out;
}

// Serialized forms of the component names that almost every signature covers, made once. The
// table is fixed, so request content cannot grow it.
const COMMON_NAMES = new Map(
  [
    '@method',
    '@target-uri',
    '@authority',
    '@scheme',
    '@request-target',
    '@path',
    '@query',
    '@status',
    'content-digest',
    'content-type',
    'content-length',
    'idempotency-key',
    'authorization',
    'date',
  ].map((name) => [name, `"${name}"`]),
);

/** Serializes a string item with parameters; same output as structured-headers' `serializeItem`. */
export function serializeStringItemFast(value: string, params: Parameters): string {
  if (params.size === 0) {
    const common = COMMON_NAMES.get(value);
    if (common !== undefined) return common;
  }
  if (!PLAIN_STRING.test(value)) return serializeItem(value, params);
  return `"${value}"${params.size === 0 ? '' : serializeParametersFast(params)}`;
}
