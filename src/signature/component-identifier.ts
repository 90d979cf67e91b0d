import { type BareItem, type Item, type Parameters } from 'structured-headers';

import { RampartError, type ErrorCode } from '../errors.js';
import { serializeStringItemFast } from './fast-serialize.js';
import { parseItemField } from './structured-field.js';

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
  return serializeStringItemFast(id.name, id.params);
}

/**
 * Parses a component identifier written as in a signature base: `"@query-param";name="Pet"`,
 * or a bare name such as `@method` or `content-digest`, which gets no parameters.
 *
 * @throws TypeError when `text` is neither a bare name nor a valid sf-string item.
 */
export function parseComponentIdentifier(text: string): ComponentIdentifier {
  if (!text.startsWith('"')) return component(text);
  try {
    const [name, params] = parseItemField(text, {
      code: 'signature_malformed',
      field: 'component',
    });
    if (typeof name === 'string') return { name, params };
  } catch {
    // Reported below as a configuration error.
  }
  throw new TypeError(
    `component identifier must be a name or a quoted sf-string item with parameters, received ${JSON.stringify(text)}`,
  );
}

/**
 * Returns a string that is equal for two identifiers exactly when RFC 9421 section 2 calls them
 * the same component: same name and same parameters, in any order.
 */
export function componentKey(id: ComponentIdentifier): string {
  if (id.params.size <= 1) return serializeStringItemFast(id.name, id.params);
  const names = [...id.params.keys()].sort();
  const sorted: Parameters = new Map();
  for (const name of names) sorted.set(name, id.params.get(name) as BareItem);
  return serializeStringItemFast(id.name, sorted);
}

// Parameters each kind of component accepts (RFC 9421 sections 2.1 and 2.2). Flags are Boolean.
const FIELD_FLAGS = new Set(['sf', 'bs', 'req', 'tr']);
const DERIVED_FLAGS = new Set(['req']);

/**
 * Checks the parameters of `id` as RFC 9421 section 2.5 requires before a value is computed.
 * Every parameter must be known for this kind of component, and flags must be `true`. `key` and
 * `name` must be strings, and `bs` cannot be combined with `sf` or `key`.
 *
 * @throws RampartError `signature_component_unsupported` for an unknown parameter or for `tr`
 *   (this library reads no trailers), `signature_component_invalid` for a wrong parameter type or
 *   a forbidden combination.
 */
export function checkComponentParameters(id: ComponentIdentifier): void {
  const derived = id.name.startsWith('@');
  const flags = derived ? DERIVED_FLAGS : FIELD_FLAGS;
  let stringParameter: string | undefined = 'key';
  if (derived) stringParameter = id.name === '@query-param' ? 'name' : undefined;
  if (id.params.size === 0) return;

  for (const [key, value] of id.params) {
    if (key === stringParameter) {
      if (typeof value !== 'string') throw componentError('signature_component_invalid', id);
    } else if (flags.has(key)) {
      if (value !== true) throw componentError('signature_component_invalid', id);
    } else {
      throw componentError('signature_component_unsupported', id);
    }
  }

  // Section 2.1.4: trailers are not part of the messages this library signs.
  if (id.params.has('tr')) throw componentError('signature_component_unsupported', id);
  // Section 2.1.3: `bs` cannot be combined with `sf` or `key`.
  if (id.params.has('bs') && (id.params.has('sf') || id.params.has('key'))) {
    throw componentError('signature_component_invalid', id);
  }
}

/**
 * Builds the error for a component, naming it in `field`. The name is serialized only here, on
 * the failure path, because most components pass.
 */
export function componentError(code: ErrorCode, id: ComponentIdentifier): RampartError {
  return new RampartError(code, { field: serializeComponent(id) });
}

/** Maximum number of components one signature may cover. */
export const MAX_COMPONENTS = 32;

/**
 * Reads the covered components of a Signature-Input or Accept-Signature member: at most
 * {@link MAX_COMPONENTS} non-empty sf-strings, none of them `@signature-params` (RFC 9421 section
 * 2.3) and none listed twice (section 2.5).
 *
 * @throws RampartError `code` with `field` when any of those rules is broken.
 */
export function readCoveredComponents(
  items: readonly Item[],
  code: ErrorCode,
  field: string,
): ComponentIdentifier[] {
  if (items.length > MAX_COMPONENTS) throw new RampartError(code, { field });
  const seen = new Set<string>();
  return items.map(([name, params]) => {
    if (typeof name !== 'string' || name === '' || name === '@signature-params') {
      throw new RampartError(code, { field });
    }
    const id = { name, params };
    const key = componentKey(id);
    if (seen.has(key)) throw new RampartError(code, { field });
    seen.add(key);
    return id;
  });
}
