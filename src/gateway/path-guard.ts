import { RampartError } from '../errors.js';

/**
 * Rejects request targets that a service could read as a different resource than the gateway
 * checked: dot segments (plain or percent-encoded), encoded slashes and backslashes, raw
 * backslashes, double encoding (`%25`), empty segments, control characters, malformed percent
 * escapes and fragments. The target is then forwarded byte for byte.
 *
 * @throws RampartError `path_invalid`
 */
export function assertCanonicalTarget(target: string): void {
  if (!target.startsWith('/') || target.length > 8192) throw new RampartError('path_invalid');

  const queryStart = target.indexOf('?');
  const path = queryStart === -1 ? target : target.slice(0, queryStart);
  const query = queryStart === -1 ? '' : target.slice(queryStart + 1);

  // Only unreserved, sub-delims, ":", "@", "/" and well-formed "%XX" may appear in a path
  // (RFC 3986 section 3.3); anything else, including "\" and controls, is rejected.
  if (!/^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*$/.test(path))
    throw new RampartError('path_invalid');
  if (/%(?:2[fF]|5[cC]|25|[01][0-9A-Fa-f]|7[fF]|2[eE])/.test(path))
    throw new RampartError('path_invalid');

  const segments = path.split('/').slice(1);
  for (const [index, segment] of segments.entries()) {
    if (segment === '.' || segment === '..') throw new RampartError('path_invalid');
    // An empty segment is allowed only as the last one (a trailing slash).
    if (segment === '' && index !== segments.length - 1) throw new RampartError('path_invalid');
  }

  // The query travels as signed; it only has to be free of controls, spaces and fragments.
  if (!/^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*$/.test(query))
    throw new RampartError('path_invalid');
}
