import { ERRORS, RampartError, type ErrorCode } from '../errors.js';
import type { HopResponse } from './hop-client.js';

/**
 * Converts an upstream error response into the RampartError to raise. A problem whose `code` is
 * on `passThrough` (and whose status matches that code) keeps its code, so that a business
 * rejection such as `insufficient_funds` reaches the client. Anything else becomes
 * `upstream_error` (502), because an upstream's authentication or server failure is not the
 * client's fault and must not look like one.
 */
export function upstreamRejection(
  response: HopResponse,
  passThrough: readonly ErrorCode[],
): RampartError {
  const problem = response.body as { code?: unknown; field?: unknown } | undefined;
  const code = typeof problem?.code === 'string' ? problem.code : undefined;
  if (code !== undefined && (passThrough as readonly string[]).includes(code)) {
    const known = code as ErrorCode;
    if (ERRORS[known].status === response.status) {
      return new RampartError(
        known,
        typeof problem?.field === 'string' ? { field: problem.field } : {},
      );
    }
  }
  return new RampartError('upstream_error');
}
