import { type Dictionary, type InnerList, type Item, type Parameters } from 'structured-headers';
import { serializeDictionary } from 'structured-headers';

import { RampartError } from '../errors.js';
import { readCoveredComponents, type ComponentIdentifier } from './component-identifier.js';
import { parseDictionaryField } from './structured-field.js';

/** One signature that an `Accept-Signature` member requests from its receiver. */
export interface SignatureRequest {
  /** Label the signature must use in `Signature-Input` and `Signature`. */
  label: string;
  /** Exact covered components the signature must have, in order. */
  components: ComponentIdentifier[];
  /** True when the sender requests a `created` parameter. */
  created: boolean;
  /** True when the sender requests an `expires` parameter. */
  expires: boolean;
  /** Nonce the signature must carry. */
  nonce?: string;
  /** Algorithm the signature must use. */
  alg?: string;
  /** Key the signature must be made with. */
  keyid?: string;
  /** Tag the signature must carry. */
  tag?: string;
}

const FIELD = 'Accept-Signature';
const STRING_PARAMS = ['nonce', 'alg', 'keyid', 'tag'] as const;

/**
 * Parses an `Accept-Signature` field value (RFC 9421 section 5.1): a Dictionary whose members,
 * keyed by label, are inner lists of covered components with the requested signature parameters.
 * `created` and `expires` are requested without a value; `nonce`, `alg`, `keyid` and `tag` are
 * Strings; other parameters are ignored. Requests are returned in field order.
 *
 * @throws RampartError `accept_signature_malformed` when the value is not such a dictionary, a
 *   label or parameter occurs twice, a member lists a component twice, lists
 *   `@signature-params` or more than `MAX_COMPONENTS` components, or the value is longer than
 *   `MAX_FIELD_LENGTH`.
 */
export function parseAcceptSignature(fieldValue: string): SignatureRequest[] {
  const members = parseDictionaryField(fieldValue, {
    code: 'accept_signature_malformed',
    field: FIELD,
    rejectDuplicateKeys: true,
  });
  return [...members].map(([label, member]) => readRequest(label, member));
}

function readRequest(label: string, member: Item | InnerList): SignatureRequest {
  if (!Array.isArray(member[0]))
    throw new RampartError('accept_signature_malformed', { field: FIELD });
  const [items, params] = member as InnerList;

  const request: SignatureRequest = {
    label,
    components: readCoveredComponents(items, 'accept_signature_malformed', FIELD),
    created: readFlag(params, 'created'),
    expires: readFlag(params, 'expires'),
  };
  for (const name of STRING_PARAMS) {
    const value = params.get(name);
    if (value === undefined) continue;
    if (typeof value !== 'string')
      throw new RampartError('accept_signature_malformed', { field: FIELD });
    request[name] = value;
  }
  return request;
}

// Section 5.1: `created` and `expires` have no associated value in a signature request.
function readFlag(params: Parameters, name: 'created' | 'expires'): boolean {
  const value = params.get(name);
  if (value === undefined) return false;
  if (value !== true) throw new RampartError('accept_signature_malformed', { field: FIELD });
  return true;
}

/**
 * Serializes signature requests as an `Accept-Signature` field value, with the parameters in the
 * order `created`, `expires`, `nonce`, `alg`, `keyid`, `tag`.
 *
 * @throws TypeError when a label is not a structured field key or a value cannot be serialized.
 */
export function serializeAcceptSignature(requests: readonly SignatureRequest[]): string {
  const members: Dictionary = new Map();
  for (const request of requests) {
    const params: Parameters = new Map();
    if (request.created) params.set('created', true);
    if (request.expires) params.set('expires', true);
    for (const name of STRING_PARAMS) {
      const value = request[name];
      if (value !== undefined) params.set(name, value);
    }
    const items = request.components.map((id): Item => [id.name, id.params]);
    members.set(request.label, [items, params]);
  }
  try {
    return serializeDictionary(members);
  } catch (error) {
    throw new TypeError(`Accept-Signature cannot be serialized: ${(error as Error).message}`);
  }
}
