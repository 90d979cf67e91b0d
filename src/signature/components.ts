import {
  checkComponentParameters,
  componentError,
  type ComponentIdentifier,
} from './component-identifier.js';
import { derivedComponentValue } from './derived-components.js';
import { fieldComponentValue, type ComponentOptions } from './field-components.js';
import type { SignableRequest, SignableResponse } from './message.js';

export {
  checkComponentParameters,
  component,
  componentKey,
  parseComponentIdentifier,
  serializeComponent,
  type ComponentIdentifier,
} from './component-identifier.js';
export { normalizeAuthority } from './derived-components.js';
export {
  STRUCTURED_FIELD_TYPES,
  type ComponentOptions,
  type StructuredFieldType,
} from './field-components.js';

// RFC 9421 section 2.5: a derived component value is VCHAR or SP only.
const DERIVED_VALUE = /^[\x20-\x7e]*$/;

/**
 * Computes the component value of `id` for `message` (RFC 9421 sections 2.1 to 2.4). With the
 * `req` parameter the value comes from the request that `message`, a response, responds to.
 *
 * @param options.structuredFields field types for `sf` beyond the built-in ones; default none.
 * @throws RampartError `signature_component_missing` when the message lacks the component,
 *   `signature_component_unsupported` for an unknown component or parameter, or `req` without a
 *   request, and `signature_component_invalid` for a bad parameter or a value that a signature
 *   base cannot carry (a newline, a control character or a non-ASCII character).
 */
export function componentValue(
  id: ComponentIdentifier,
  message: SignableRequest | SignableResponse,
  options: ComponentOptions = {},
): string {
  checkComponentParameters(id);

  let target: SignableRequest | SignableResponse = message;
  if (id.params.has('req')) {
    // Section 2.4: `req` reads the component from the request that triggered this response.
    if (!('status' in message) || message.request === undefined) {
      throw componentError('signature_component_unsupported', id);
    }
    target = message.request;
  }

  if (!id.name.startsWith('@')) return fieldComponentValue(id, target.headers, options);

  const value = derivedComponentValue(id, target);
  if (!DERIVED_VALUE.test(value)) {
    throw componentError('signature_component_invalid', id);
  }
  return value;
}
