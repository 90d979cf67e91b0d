import { RampartError } from '../errors.js';
import { componentError, type ComponentIdentifier } from './component-identifier.js';
import type { SignableRequest, SignableResponse } from './message.js';
import { queryParamValue } from './query-param.js';

const REQUEST_COMPONENTS = new Set([
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
 * Computes a derived component (RFC 9421 section 2.2) of `message`, which is already the request
 * when the identifier carries `req`.
 *
 * @throws RampartError `signature_component_unsupported` for an unknown name or a component of
 *   the other kind of message, plus the codes of {@link queryParamValue}.
 */
export function derivedComponentValue(
  id: ComponentIdentifier,
  message: SignableRequest | SignableResponse,
): string {
  if (id.name === '@status') {
    // Section 2.2.9: responses only, as the three-digit status code.
    if (!('status' in message)) {
      throw new RampartError('signature_component_unsupported', { field: id.name });
    }
    if (!Number.isInteger(message.status) || message.status < 100 || message.status > 999) {
      throw new RampartError('signature_component_invalid', { field: id.name });
    }
    return String(message.status);
  }
  // Section 2.2: request components on a response need the `req` parameter (section 2.4).
  if (!REQUEST_COMPONENTS.has(id.name) || 'status' in message) {
    throw componentError('signature_component_unsupported', id);
  }

  const request = message;
  const queryStart = request.target.indexOf('?');
  const path = queryStart === -1 ? request.target : request.target.slice(0, queryStart);
  const query = queryStart === -1 ? undefined : request.target.slice(queryStart + 1);

  switch (id.name) {
    case '@method':
      // Section 2.2.1: the method as sent, with no change of case.
      return request.method;
    case '@target-uri':
      return targetUri(request);
    case '@authority':
      return normalizeAuthority(request.scheme, request.authority);
    case '@scheme':
      // Section 2.2.4: the scheme in lowercase.
      return request.scheme.toLowerCase();
    case '@request-target':
      // Section 2.2.5: the request target exactly as sent.
      return request.target;
    case '@path':
      // Section 2.2.6: percent-encoding kept as sent, and an empty path is "/".
      return path === '' ? '/' : path;
    case '@query':
      // Section 2.2.7: percent-encoding kept as sent, and an absent query is the lone "?".
      return `?${query ?? ''}`;
    default:
      return queryParamValue(id, query);
  }
}

const DEFAULT_PORTS = new Map([
  ['http', ':80'],
  ['https', ':443'],
]);

/**
 * Section 2.2.3: the authority with the host in lowercase and the scheme's default port (80 for
 * http, 443 for https) removed, as RFC 9110 section 4.2.3 normalizes it.
 */
export function normalizeAuthority(scheme: string, authority: string): string {
  const lower = authority.toLowerCase();
  const defaultPort = DEFAULT_PORTS.get(scheme.toLowerCase());
  if (defaultPort !== undefined && lower.endsWith(defaultPort)) {
    return lower.slice(0, -defaultPort.length);
  }
  // RFC 3986 section 6.2.3: an empty port is the same as no port.
  return lower.endsWith(':') ? lower.slice(0, -1) : lower;
}

/**
 * Section 2.2.2: the target URI rebuilt from scheme, authority and request target (RFC 9110
 * section 7.1). Scheme and authority are normalized as for `@scheme` and `@authority`, because
 * RFC 9421 section 1.3 lists case changes of those parts as transformations a signature survives.
 * The path and query stay exactly as sent.
 */
function targetUri(request: SignableRequest): string {
  const origin = `${request.scheme.toLowerCase()}://${normalizeAuthority(request.scheme, request.authority)}`;
  // RFC 9110 section 7.1: the asterisk form targets the origin itself.
  return request.target === '*' ? origin : `${origin}${request.target}`;
}
