import {
  type InnerList,
  type Item,
  serializeByteSequence,
  serializeDictionary,
  serializeInnerList,
  serializeItem,
  serializeList,
} from 'structured-headers';

import {
  componentError,
  serializeComponent,
  type ComponentIdentifier,
} from './component-identifier.js';
import {
  canonicalFieldLine,
  combinedFieldValue,
  fieldLines,
  type HeaderFields,
} from './message.js';
import {
  type StructuredFieldContext,
  parseDictionaryField,
  parseItemField,
  parseListField,
} from './structured-field.js';

/** The top-level type of a structured field (RFC 8941 section 3). */
export type StructuredFieldType = 'dictionary' | 'list' | 'item';

/**
 * Structured types of registered fields that the `sf` parameter can re-serialize without
 * configuration. Each type is the one the field's own specification defines, for example RFC 9421
 * for the signature fields, RFC 9530 for the digest fields and RFC 9440 for Client-Cert. Other
 * fields are added per call with `structuredFields`.
 */
export const STRUCTURED_FIELD_TYPES: Readonly<Record<string, StructuredFieldType>> = {
  signature: 'dictionary',
  'signature-input': 'dictionary',
  'accept-signature': 'dictionary',
  'content-digest': 'dictionary',
  'repr-digest': 'dictionary',
  'want-content-digest': 'dictionary',
  'want-repr-digest': 'dictionary',
  priority: 'dictionary',
  'cache-status': 'list',
  'proxy-status': 'list',
  'cdn-cache-control': 'dictionary',
  'client-cert': 'item',
  'client-cert-chain': 'list',
  'idempotency-key': 'item',
};

/** Options that change how component values are computed. */
export interface ComponentOptions {
  /**
   * Structured types of further fields for the `sf` parameter (RFC 9421 section 2.1.1), keyed by
   * lowercase field name. They extend {@link STRUCTURED_FIELD_TYPES}. Default: none.
   */
  structuredFields?: Readonly<Record<string, StructuredFieldType>>;
}

// RFC 9110 section 5.1: a field name is a token.
const FIELD_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
// RFC 9421 section 2.5: field-content with neither obs-text nor obs-fold, so visible ASCII, SP
// and HTAB only.
const FIELD_CONTENT = /^[\t\x20-\x7e]*$/;

/**
 * Computes the component value of an HTTP field (RFC 9421 section 2.1), with the `sf` (2.1.1),
 * `key` (2.1.2) and `bs` (2.1.3) parameters applied.
 *
 * @throws RampartError `signature_component_missing` when the field or dictionary member is
 *   absent, `signature_component_unsupported` for an uppercase name or `sf` on a field of unknown
 *   type, `signature_component_invalid` for a value that does not parse or contains characters that
 *   a signature base cannot carry.
 */
export function fieldComponentValue(
  id: ComponentIdentifier,
  headers: HeaderFields,
  options: ComponentOptions = {},
): string {
  // Section 2.1: the component name is the lowercased field name.
  if (!FIELD_NAME.test(id.name)) throw componentError('signature_component_unsupported', id);

  if (id.params.size > 0 && id.params.has('bs')) return byteSequenceValue(id, headers);

  const value = combinedFieldValue(headers, id.name);
  if (value === undefined) throw componentError('signature_component_missing', id);

  if (id.params.size > 0) {
    const key = id.params.get('key');
    if (typeof key === 'string') return dictionaryMemberValue(id, value, key);
    if (id.params.has('sf')) return reserializeStructured(id, value, options);
  }

  if (!FIELD_CONTENT.test(value)) throw componentError('signature_component_invalid', id);
  return value;
}

function parseContext(id: ComponentIdentifier): StructuredFieldContext {
  return { code: 'signature_component_invalid', field: serializeComponent(id) };
}

// Section 2.1.2: the strict serialization of one dictionary member.
function dictionaryMemberValue(id: ComponentIdentifier, value: string, key: string): string {
  const member = parseDictionaryField(value, parseContext(id)).get(key);
  if (member === undefined) {
    throw componentError('signature_component_missing', id);
  }
  return Array.isArray(member[0])
    ? serializeInnerList(member as InnerList)
    : serializeItem(member as Item);
}

// Section 2.1.1: the field parsed with its known type and serialized strictly.
function reserializeStructured(
  id: ComponentIdentifier,
  value: string,
  options: ComponentOptions,
): string {
  const type = options.structuredFields?.[id.name] ?? STRUCTURED_FIELD_TYPES[id.name];
  if (type === undefined) {
    throw componentError('signature_component_unsupported', id);
  }
  const context = parseContext(id);
  if (type === 'dictionary') return serializeDictionary(parseDictionaryField(value, context));
  if (type === 'list') return serializeList(parseListField(value, context));
  return serializeItem(parseItemField(value, context));
}

// Section 2.1.3: each canonicalized field line's bytes as a Byte Sequence, serialized as a List.
function byteSequenceValue(id: ComponentIdentifier, headers: HeaderFields): string {
  const lines = fieldLines(headers, id.name);
  if (lines.length === 0) throw componentError('signature_component_missing', id);

  return lines
    .map((line) => {
      const canonical = canonicalFieldLine(line);
      // Node decodes field bytes as Latin-1, so code units above 0xFF cannot come from the wire.
      if (hasCodeUnitAbove(canonical, 0xff)) {
        throw componentError('signature_component_invalid', id);
      }
      return serializeByteSequence(latin1Bytes(canonical));
    })
    .join(', ');
}

// Buffer.from(text, 'latin1') without Buffer, so this module also runs in browsers.
function latin1Bytes(text: string): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i += 1) bytes[i] = text.charCodeAt(i);
  return bytes;
}

function hasCodeUnitAbove(text: string, limit: number): boolean {
  for (let i = 0; i < text.length; i += 1) {
    if (text.charCodeAt(i) > limit) return true;
  }
  return false;
}
