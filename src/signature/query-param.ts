import { componentError, type ComponentIdentifier } from './component-identifier.js';

/**
 * Computes the `@query-param` component value (RFC 9421 section 2.2.8): the query is parsed as
 * application/x-www-form-urlencoded, the one parameter whose encoded name equals the `name`
 * parameter is selected, and its value is returned re-encoded by {@link formUrlEncode}.
 *
 * @throws RampartError `signature_component_invalid` when `name` is missing, is not in the
 *   encoded form, or names a parameter that occurs more than once.
 * @throws RampartError `signature_component_missing` when the query does not contain it.
 */
export function queryParamValue(id: ComponentIdentifier, query: string | undefined): string {
  const name = id.params.get('name');
  if (typeof name !== 'string' || formUrlEncode(decodeFormComponent(name)) !== name) {
    throw componentError('signature_component_invalid', id);
  }

  const values: string[] = [];
  for (const [parameterName, value] of parseFormUrlEncoded(query ?? '')) {
    if (formUrlEncode(parameterName) === name) values.push(value);
  }
  if (values.length === 0) {
    throw componentError('signature_component_missing', id);
  }
  // Section 2.2.8: a parameter name that occurs more than once must not be covered.
  if (values.length > 1) {
    throw componentError('signature_component_invalid', id);
  }
  return formUrlEncode(values[0] as string);
}

/**
 * Parses a query string as the WHATWG URL Standard's application/x-www-form-urlencoded parser
 * does (section 5.1): split on `&`, skip empty pieces, split each at the first `=`, turn `+` into
 * a space, percent-decode, then decode UTF-8 with U+FFFD for invalid bytes and without stripping a
 * byte order mark. `URLSearchParams` is not used because it drops a leading `?` from its input.
 */
export function parseFormUrlEncoded(query: string): Array<[name: string, value: string]> {
  const output: Array<[string, string]> = [];
  for (const sequence of query.split('&')) {
    if (sequence === '') continue;
    const equals = sequence.indexOf('=');
    const name = equals === -1 ? sequence : sequence.slice(0, equals);
    const value = equals === -1 ? '' : sequence.slice(equals + 1);
    output.push([decodeFormComponent(name), decodeFormComponent(value)]);
  }
  return output;
}

// Bytes left as they are by the application/x-www-form-urlencoded percent-encode set: ASCII
// alphanumerics, "*", "-", "." and "_" (WHATWG URL Standard, section 1.3).
const FORM_SAFE = /^[A-Za-z0-9*\-._]$/;

/**
 * Percent-encodes `text` as the WHATWG URL Standard's "percent-encode after encoding" does with
 * the application/x-www-form-urlencoded percent-encode set and without turning spaces into `+`,
 * as RFC 9421 section 2.2.8 requires: UTF-8 bytes, uppercase hexadecimal digits, and a
 * space written as `%20`.
 */
export function formUrlEncode(text: string): string {
  let output = '';
  for (const byte of new TextEncoder().encode(text)) {
    const char = String.fromCharCode(byte);
    output += FORM_SAFE.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return output;
}

// NOTE: as the WHATWG parser requires, invalid UTF-8 decodes to U+FFFD, so `%FF` and `%FE` give
// the same `@query-param` value. Covering `@query` signs the raw bytes of the query instead.
const UTF8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

function decodeFormComponent(encoded: string): string {
  const bytes = new TextEncoder().encode(encoded.replaceAll('+', ' '));
  const decoded = new Uint8Array(bytes.length);
  let length = 0;
  for (let i = 0; i < bytes.length; i += 1) {
    const byte = bytes[i] as number;
    const high = hexValue(bytes[i + 1]);
    const low = hexValue(bytes[i + 2]);
    // A "%" that is not followed by two hexadecimal digits stays a literal "%" (section 1.3).
    if (byte === 0x25 && high !== -1 && low !== -1) {
      decoded[length] = high * 16 + low;
      i += 2;
    } else {
      decoded[length] = byte;
    }
    length += 1;
  }
  return UTF8.decode(decoded.subarray(0, length));
}

function hexValue(byte: number | undefined): number {
  if (byte === undefined) return -1;
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x37;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x57;
  return -1;
}
