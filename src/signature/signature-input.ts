import {
  type BareItem,
  type Dictionary,
  type InnerList,
  type Parameters,
} from 'structured-headers';

import { RampartError } from '../errors.js';
import { readCoveredComponents, type ComponentIdentifier } from './component-identifier.js';
import { serializeParametersFast, serializeStringItemFast } from './fast-serialize.js';
import { combinedFieldValue, type HeaderFields } from './message.js';
import { parseDictionaryField } from './structured-field.js';

export { MAX_COMPONENTS } from './component-identifier.js';
export { MAX_FIELD_LENGTH } from './structured-field.js';

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

const PARAM_TYPE_ENTRIES = Object.entries(PARAM_TYPES) as Array<
  [keyof SignatureParams, 'integer' | 'string']
>;

/** Rule by which a verifier picks one signature out of the message. */
export interface SignatureSelector {
  /** Exact label to use. */
  label?: string;
  /** Value of the `tag` parameter the signature must carry, used when no label is given. */
  tag?: string;
}

/**
 * Reads `Signature-Input` and `Signature` from `headers` and returns the one signature that
 * `selector` picks: by label, else the only one with the given tag, else the only one present.
 * Both fields must parse as a whole, without a label given twice; only the picked member is
 * checked further.
 *
 * @throws RampartError `signature_missing` when both fields are absent or the label or tag is not
 *   present, `signature_malformed` when a field is not a valid dictionary (or is longer than
 *   {@link MAX_FIELD_LENGTH}), the picked member has the wrong shape, or the selection is
 *   ambiguous, and `signature_params_invalid` when a known parameter has the wrong type.
 */
export function parseSignature(
  headers: HeaderFields,
  selector: SignatureSelector = {},
): ParsedSignature {
  const { inputs, signatures } = readSignatureFields(headers);
  return toParsedSignature(selectLabel(inputs, selector), inputs, signatures);
}

/**
 * Reads every signature in `headers`, in `Signature-Input` order (RFC 9421 section 4). Each
 * member is checked as {@link parseSignature} checks the picked one.
 *
 * @throws RampartError as {@link parseSignature}, except the selection codes.
 */
export function parseSignatures(headers: HeaderFields): ParsedSignature[] {
  const { inputs, signatures } = readSignatureFields(headers);
  return [...inputs.keys()].map((label) => toParsedSignature(label, inputs, signatures));
}

function readSignatureFields(headers: HeaderFields): {
  inputs: Dictionary;
  signatures: Dictionary;
} {
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

  // A label given twice is rejected instead of letting the last one win (RFC 8941 section
  // 4.2.2), so that no two readers of the message can pick different signatures.
  const inputs = parseDictionaryField(inputValue, {
    code: 'signature_malformed',
    field: 'Signature-Input',
    rejectDuplicateKeys: true,
  });
  const signatures = parseDictionaryField(signatureValue, {
    code: 'signature_malformed',
    field: 'Signature',
    rejectDuplicateKeys: true,
  });
  return { inputs, signatures };
}

function toParsedSignature(
  label: string,
  inputs: Dictionary,
  signatures: Dictionary,
): ParsedSignature {
  const input = inputs.get(label);
  const signature = signatures.get(label);
  if (input === undefined || signature === undefined) {
    throw new RampartError('signature_malformed', { field: 'Signature' });
  }
  // Section 4.1: the Signature-Input member is an inner list, the Signature member a byte sequence.
  if (!Array.isArray(input[0])) {
    throw new RampartError('signature_malformed', { field: 'Signature-Input' });
  }
  if (!(signature[0] instanceof ArrayBuffer)) {
    throw new RampartError('signature_malformed', { field: 'Signature' });
  }

  const [items, rawParams] = input as InnerList;
  return {
    label,
    components: readCoveredComponents(items, 'signature_malformed', 'Signature-Input'),
    params: readParams(rawParams),
    rawParams,
    signature: new Uint8Array(signature[0]),
  };
}

function selectLabel(inputs: Dictionary, selector: SignatureSelector): string {
  if (selector.label !== undefined) {
    if (!inputs.has(selector.label)) throw new RampartError('signature_missing');
    return selector.label;
  }
  let candidates = [...inputs.keys()];
  if (selector.tag !== undefined) {
    candidates = candidates.filter((label) => inputs.get(label)?.[1].get('tag') === selector.tag);
    if (candidates.length === 0) throw new RampartError('signature_missing');
  }
  if (candidates.length !== 1) {
    throw new RampartError('signature_malformed', { field: 'Signature-Input' });
  }
  return candidates[0] as string;
}

function readParams(raw: Parameters): SignatureParams {
  const params: SignatureParams = {};
  for (const [name, expected] of PARAM_TYPE_ENTRIES) {
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
  components: readonly ComponentIdentifier[],
  params: Parameters,
): string {
  // Same output as structured-headers' serializeInnerList, built from the fast paths.
  const items = components.map((id) => serializeStringItemFast(id.name, id.params)).join(' ');
  return `(${items})${serializeParametersFast(params)}`;
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
