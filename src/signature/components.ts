import {
  type BareItem,
  type Item,
  type Parameters,
  parseDictionary,
  parseItem,
  parseList,
  serializeDictionary,
  serializeItem,
  serializeList,
  serializeByteSequence,
} from 'structured-headers';

import { RampartError } from '../errors.js';
import {
  combinedFieldValue,
  fieldLines,
  type HeaderFields,
  type SignableRequest,
  type SignableResponse,
} from './message.js';

/**
 * One covered component: a lowercase field name or a derived component name starting with
 * `@`, plus its parameters (`sf`, `key`, `bs`, `req`, `name`), as in RFC 9421 section 2.
 */
export interface ComponentIdentifier {
  name: string;
  params: Parameters;
}

/** Builds a component identifier from a name and optional parameters. */
export function component(
  name: string,
  params: Record<string, BareItem> = {},
): ComponentIdentifier {
  return { name, params: new Map(Object.entries(params)) };
}

/** Serializes a component identifier as an sf-string item with parameters. */
export function serializeComponent(id: ComponentIdentifier): string {
  return serializeItem(id.name, id.params);
}

const DERIVED_REQUEST = new Set([
  '@method',
  '@target-uri',
  '@authority',
  '@scheme',
  '@request-target',
  '@path',
  '@query',
  '@query-param',
]);

/**
 * Computes the component value of `id` for `message` (RFC 9421 sections 2.1 and 2.2).
 *
 * @throws RampartError `signature_component_missing` when the message lacks the component,
 *   `signature_component_unsupported` for unknown derived components or parameter combinations.
 */
export function componentValue(
  id: ComponentIdentifier,
  message: SignableRequest | SignableResponse,
): string {
  const wantsRequest = id.params.get('req') === true;
  let target: SignableRequest | SignableResponse = message;
  if (wantsRequest) {
    // Section 2.4: `req` reads the component from the request that triggered this response.
    if (!('status' in message) || message.request === undefined) {
      throw new RampartError('signature_component_unsupported', { field: id.name });
    }
    target = message.request;
  }

  if (id.name.startsWith('@')) return derivedValue(id, target);
  return fieldValue(id, target.headers);
}

function derivedValue(
  id: ComponentIdentifier,
  message: SignableRequest | SignableResponse,
): string {
  if (id.name === '@status') {
    if (!('status' in message))
      throw new RampartError('signature_component_unsupported', { field: id.name });
    // Section 2.2.9: the three-digit status code.
    return String(message.status).padStart(3, '0');
  }
  if (!DERIVED_REQUEST.has(id.name) || 'status' in message) {
    throw new RampartError('signature_component_unsupported', { field: id.name });
  }
  const request = message;
  const queryStart = request.target.indexOf('?');
  const path = queryStart === -1 ? request.target : request.target.slice(0, queryStart);
  const query = queryStart === -1 ? undefined : request.target.slice(queryStart + 1);

  switch (id.name) {
    case '@method':
      return request.method;
    case '@target-uri':
      return `${request.scheme.toLowerCase()}://${normalizeAuthority(request.scheme, request.authority)}${request.target}`;
    case '@authority':
      return normalizeAuthority(request.scheme, request.authority);
    case '@scheme':
      return request.scheme.toLowerCase();
    case '@request-target':
      return request.target;
    case '@path':
      // Section 2.2.6: an empty path is "/".
      return path === '' ? '/' : path;
    case '@query':
      // Section 2.2.7: an absent query is the lone "?".
      return `?${query ?? ''}`;
    default:
      return queryParamValue(id, query);
  }
}

/**
 * Section 2.2.8: the named query parameter, decoded as application/x-www-form-urlencoded and
 * re-encoded with percent-encoding, so `+` and `%20` compare equal.
 */
function queryParamValue(id: ComponentIdentifier, query: string | undefined): string {
  const name = id.params.get('name');
  if (typeof name !== 'string')
    throw new RampartError('signature_component_unsupported', { field: id.name });
  const values = new URLSearchParams(query ?? '').getAll(decodeFormComponent(name));
  if (values.length !== 1) {
    // A repeated parameter cannot be covered by a single component value (section 2.2.8).
    throw new RampartError('signature_component_missing', { field: `@query-param;name="${name}"` });
  }
  return encodeURIComponent(values[0] as string);
}

function decodeFormComponent(encoded: string): string {
  return new URLSearchParams(`${encoded}=`).keys().next().value ?? encoded;
}

/** Section 2.2.3: lowercase host, default port removed. */
export function normalizeAuthority(scheme: string, authority: string): string {
  const lower = authority.toLowerCase();
  const defaultPort = scheme.toLowerCase() === 'https' ? ':443' : ':80';
  return lower.endsWith(defaultPort) ? lower.slice(0, -defaultPort.length) : lower;
}

function fieldValue(id: ComponentIdentifier, headers: HeaderFields): string {
  if (id.name !== id.name.toLowerCase()) {
    throw new RampartError('signature_component_unsupported', { field: id.name });
  }
  const sf = id.params.get('sf') === true;
  const key = id.params.get('key');
  const bs = id.params.get('bs') === true;
  if ((bs && (sf || key !== undefined)) || (key !== undefined && typeof key !== 'string')) {
    throw new RampartError('signature_component_unsupported', { field: id.name });
  }

  if (bs) {
    // Section 2.1.3: each field line wrapped as a byte sequence, joined as an sf list.
    const lines = fieldLines(headers, id.name);
    if (lines.length === 0)
      throw new RampartError('signature_component_missing', { field: id.name });
    const encoder = new TextEncoder();
    return lines.map((line) => serializeByteSequence(encoder.encode(line.trim()))).join(', ');
  }

  const value = combinedFieldValue(headers, id.name);
  if (value === undefined)
    throw new RampartError('signature_component_missing', { field: id.name });
  if (key !== undefined) return dictionaryMemberValue(id.name, value, key);
  if (sf) return reserializeStructured(id.name, value);
  return value;
}

/** Section 2.1.2: the serialized value of one dictionary member. */
function dictionaryMemberValue(name: string, value: string, key: string): string {
  let member: Item | [Item[], Parameters] | undefined;
  try {
    member = parseDictionary(value).get(key);
  } catch {
    throw new RampartError('signature_component_missing', { field: name });
  }
  if (member === undefined)
    throw new RampartError('signature_component_missing', { field: `${name};key="${key}"` });
  return Array.isArray(member[0])
    ? serializeList([member as [Item[], Parameters]])
    : serializeItem(member as Item);
}

// Fields whose structured type this verifier knows, for the `sf` parameter (section 2.1.1).
const STRUCTURED_TYPES: Record<string, 'dictionary' | 'list' | 'item'> = {
  'content-digest': 'dictionary',
  'repr-digest': 'dictionary',
  'want-content-digest': 'dictionary',
  signature: 'dictionary',
  'signature-input': 'dictionary',
  'accept-signature': 'dictionary',
  'cache-status': 'list',
  'idempotency-key': 'item',
  priority: 'dictionary',
};

function reserializeStructured(name: string, value: string): string {
  const type = STRUCTURED_TYPES[name];
  if (type === undefined)
    throw new RampartError('signature_component_unsupported', { field: name });
  try {
    if (type === 'dictionary') return serializeDictionary(parseDictionary(value));
    if (type === 'list') return serializeList(parseList(value));
    return serializeItem(parseItem(value));
  } catch {
    throw new RampartError('signature_component_missing', { field: name });
  }
}
