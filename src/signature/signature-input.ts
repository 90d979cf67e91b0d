import {
  type BareItem,
  type Item,
  type Parameters,
  parseDictionary,
  serializeInnerList,
} from 'structured-headers';

import { RampartError } from '../errors.js';
import type { ComponentIdentifier } from './components.js';
import { combinedFieldValue, type HeaderFields } from './message.js';

/** Signature parameters defined by RFC 9421 section 2.3. */
export interface SignatureParams {
  created?: number;
  expires?: number;
  nonce?: string;
  alg?: string;
  keyid?: string;
  tag?: string;
}

/** One signature read from a message: its label, covered components, parameters and bytes. */
export interface ParsedSignature {
  label: string;
  components: ComponentIdentifier[];
  params: SignatureParams;
  /** Every parameter in received order, including ones this library does not interpret. */
  rawParams: Parameters;
  signature: Uint8Array;
}

const PARAM_TYPES: Record<keyof SignatureParams, 'integer' | 'string'> = {
  created: 'integer',
  expires: 'integer',
  nonce: 'string',
  alg: 'string',
  keyid: 'string',
  tag: 'string',
};

/** Maximum length of a Signature-Input or Signature field value, in characters. */
export const MAX_FIELD_LENGTH = 4096;
/** Maximum number of components one signature may cover. */
export const MAX_COMPONENTS = 32;

/** How a verifier picks one signature out of the message. */
export interface SignatureSelector {
  /** Exact label to use. */
  label?: string;
  /** Value of the `tag` parameter the signature must carry, used when no label is given. */
  tag?: string;
}

/**
 * Reads `Signature-Input` and `Signature` from `headers` and returns the one signature that
 * `selector` picks: by label, else the only one with the given tag, else the only one present.
 *
 * @throws RampartError `signature_missing` when either field is absent, `signature_malformed`
 *   when a field is not a valid dictionary of the right shape or the selection is ambiguous,
 *   `signature_params_invalid` when a known parameter has the wrong type.
 */
export function parseSignature(
  headers: HeaderFields,
  selector: SignatureSelector = {},
): ParsedSignature {
  const inputValue = combinedFieldValue(headers, 'signature-input');
  const signatureValue = combinedFieldValue(headers, 'signature');
  if (inputValue === undefined && signatureValue === undefined) {
    throw new RampartError('signature_missing');
  }
  if (inputValue === undefined || signatureValue === undefined) {
    throw new RampartError('signature_malformed', {
      field: inputValue === undefined ? 'Signature-Input' : 'Signature',
    });
  }

  // Bounds keep parsing and base building cheap for a request nobody has authenticated yet.
  if (inputValue.length > MAX_FIELD_LENGTH)
    throw new RampartError('signature_malformed', { field: 'Signature-Input' });
  if (signatureValue.length > MAX_FIELD_LENGTH)
    throw new RampartError('signature_malformed', { field: 'Signature' });

  const inputs = parseField(inputValue, 'Signature-Input');
  const signatures = parseField(signatureValue, 'Signature');
  const label = selectLabel(inputs, selector);

  const input = inputs.get(label);
  const signature = signatures.get(label);
  if (input === undefined || signature === undefined) {
    throw new RampartError('signature_malformed', { field: 'Signature' });
  }
  if (!Array.isArray(input[0]))
    throw new RampartError('signature_malformed', { field: 'Signature-Input' });
  if (!(signature[0] instanceof ArrayBuffer))
    throw new RampartError('signature_malformed', { field: 'Signature' });

  if ((input[0] as Item[]).length > MAX_COMPONENTS) {
    throw new RampartError('signature_malformed', { field: 'Signature-Input' });
  }
  const components = (input[0] as Item[]).map(toComponent);
  const seen = new Set<string>();
  for (const id of components) {
    // Section 3.2: a component identifier must not be covered twice.
    const key = serializeInnerList([[[id.name, id.params]], new Map()]);
    if (seen.has(key)) throw new RampartError('signature_malformed', { field: 'Signature-Input' });
    seen.add(key);
  }

  return {
    label,
    components,
    params: readParams(input[1]),
    rawParams: input[1],
    signature: new Uint8Array(signature[0]),
  };
}

function parseField(value: string, field: string): Map<string, Item | [Item[], Parameters]> {
  try {
    return parseDictionary(value);
  } catch {
    throw new RampartError('signature_malformed', { field });
  }
}

function selectLabel(
  inputs: Map<string, Item | [Item[], Parameters]>,
  selector: SignatureSelector,
): string {
  if (selector.label !== undefined) {
    if (!inputs.has(selector.label)) throw new RampartError('signature_missing');
    return selector.label;
  }
  let candidates = [...inputs.keys()];
  if (selector.tag !== undefined) {
    candidates = candidates.filter((label) => inputs.get(label)?.[1].get('tag') === selector.tag);
    if (candidates.length === 0) throw new RampartError('signature_missing');
  }
  if (candidates.length !== 1)
    throw new RampartError('signature_malformed', { field: 'Signature-Input' });
  return candidates[0] as string;
}

function toComponent(item: Item): ComponentIdentifier {
  const [name, params] = item;
  if (typeof name !== 'string' || name === '') {
    throw new RampartError('signature_malformed', { field: 'Signature-Input' });
  }
  return { name, params };
}

function readParams(raw: Parameters): SignatureParams {
  const params: SignatureParams = {};
  for (const [name, expected] of Object.entries(PARAM_TYPES) as Array<
    [keyof SignatureParams, string]
  >) {
    const value: BareItem | undefined = raw.get(name);
    if (value === undefined) continue;
    const ok = expected === 'integer' ? Number.isInteger(value) : typeof value === 'string';
    if (!ok) throw new RampartError('signature_params_invalid', { field: name });
    (params as Record<string, unknown>)[name] = value;
  }
  return params;
}

/**
 * Serializes the covered components and parameters as the inner list that is both the
 * `Signature-Input` member value and the `@signature-params` line (section 2.3).
 */
export function serializeSignatureParams(
  components: ComponentIdentifier[],
  params: Parameters,
): string {
  return serializeInnerList([components.map((id) => [id.name, id.params] as Item), params]);
}

/** Orders the known parameters the way this library emits them. */
export function toParameters(params: SignatureParams): Parameters {
  const ordered: Parameters = new Map();
  for (const name of ['created', 'expires', 'nonce', 'alg', 'keyid', 'tag'] as const) {
    const value = params[name];
    if (value !== undefined) ordered.set(name, value);
  }
  return ordered;
}
