import type { Parameters } from 'structured-headers';

import { RampartError } from '../errors.js';
import { componentValue, serializeComponent, type ComponentIdentifier } from './components.js';
import type { SignableRequest, SignableResponse } from './message.js';
import { serializeSignatureParams } from './signature-input.js';

/**
 * Builds the RFC 9421 signature base (section 2.5): one `"id": value` line per covered
 * component, then the `@signature-params` line, joined by LF with no trailing newline.
 *
 * @throws RampartError `signature_component_missing` or `signature_component_unsupported` when a
 *   component cannot be computed, and `signature_malformed` for a value with a newline or a
 *   covered `@signature-params`.
 */
export function buildSignatureBase(
  message: SignableRequest | SignableResponse,
  components: ComponentIdentifier[],
  params: Parameters,
): string {
  const lines: string[] = [];
  for (const id of components) {
    if (id.name === '@signature-params') {
      throw new RampartError('signature_malformed', { field: 'Signature-Input' });
    }
    const value = componentValue(id, message);
    // Section 2.5: a value containing a newline cannot be represented in the base.
    if (/[\r\n]/.test(value))
      throw new RampartError('signature_component_unsupported', { field: id.name });
    lines.push(`${serializeComponent(id)}: ${value}`);
  }
  lines.push(`"@signature-params": ${serializeSignatureParams(components, params)}`);
  return lines.join('\n');
}
