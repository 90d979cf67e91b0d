import { RampartError } from '../errors.js';

/**
 * Rejects a request target that is not a canonical origin-form path and query (RFC 9112
 * section 3.2.1). The hop signature covers the path exactly as received, but a router decodes
 * and normalises it before matching. A path that decodes to another resource would therefore
 * let a service authorise a different resource from the one that was signed and checked.
 *
 * Rejected: an empty target or one not starting with `/`, any byte outside visible ASCII, a
 * fragment, a backslash, dot segments (also percent-encoded), an encoded slash or backslash, an
 * encoded `%` (double encoding) and encoded control characters.
 *
 * @throws RampartError `path_invalid`
 */
export function checkOriginForm(target: string): void {
  if (!target.startsWith('/') || !/^[\x21-\x7e]+$/.test(target) || target.includes('#')) {
    throw new RampartError('path_invalid');
  }

  const queryStart = target.indexOf('?');
  const path = queryStart === -1 ? target : target.slice(0, queryStart);
  if (path.includes('\\') || /%(2f|5c|25|[01][0-9a-f]|7f)/i.test(path)) {
    throw new RampartError('path_invalid');
  }

  for (const segment of path.split('/')) {
    const decoded = segment.replace(/%2e/gi, '.');
    if (decoded === '.' || decoded === '..') throw new RampartError('path_invalid');
  }
}
