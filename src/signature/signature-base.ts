import type { Parameters } from 'structured-headers';

import { RampartError } from '../errors.js';
import {
  componentKey,
  componentValue,
  serializeComponent,
  type ComponentIdentifier,
  type ComponentOptions,
} from './components.js';
import type { SignableRequest, SignableResponse } from './message.js';
import { serializeSignatureParams } from './signature-input.js';

/**
 * Builds the RFC 9421 signature base (section 2.5): one `"id": value` line per covered
 * component, then the `@signature-params` line, joined by LF with no trailing newline.
 *
 * @param options.structuredFields field types for `sf` beyond the built-in ones; default none.
 * @throws RampartError `signature_malformed` when a component is listed twice or
 *   `@signature-params` is listed, and any code of {@link componentValue}.
 */
export function buildSignatureBase(
  message: SignableRequest | SignableResponse,
  components: readonly ComponentIdentifier[],
  params: Parameters,
  options: ComponentOptions = {},
): string {
  let base = '';
  const seen = new Set<string>();
  for (const id of components) {
    // Section 2.3: @signature-params is never a covered component.
    if (id.name === '@signature-params') {
      throw new RampartError('signature_malformed', { field: 'Signature-Input' });
    }
    // Section 2.5, step 2.1: each component identifier occurs once, parameter order aside.
    const key = componentKey(id);
    if (seen.has(key)) throw new RampartError('signature_malformed', { field: 'Signature-Input' });
    seen.add(key);

    // With at most one parameter the key is the serialized identifier itself.
    const serialized = id.params.size <= 1 ? key : serializeComponent(id);
    base += `${serialized}: ${componentValue(id, message, options)}\n`;
  }
  return `${base}"@signature-params": ${serializeSignatureParams(components, params)}`;
}
