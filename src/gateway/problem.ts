import type { FastifyReply } from 'fastify';

import { PROBLEM_CONTENT_TYPE, RampartError, toProblem } from '../errors.js';

/** Maps an error thrown by Fastify itself (body parsing, limits) to a registry error. */
export function toRampartError(error: unknown): RampartError {
  if (error instanceof RampartError) return error;
  const status = (error as { statusCode?: number }).statusCode;
  if (status === 413) return new RampartError('body_too_large');
  if (status === 415) return new RampartError('media_type_unsupported');
  if (status !== undefined && status >= 400 && status < 500)
    return new RampartError('request_malformed');
  return new RampartError('internal_error');
}

/** Serializes `error` as an RFC 9457 problem body and sets the status and content type. */
export function problemBody(reply: FastifyReply, error: RampartError, requestId: string): string {
  reply.code(error.status).header('content-type', PROBLEM_CONTENT_TYPE);
  // Retry-After (RFC 9110, section 10.2.3) repeats the problem's retryAfter for clients that
  // read only headers, such as the 429 rate limits.
  if (error.extensions.retryAfter !== undefined) {
    reply.header('retry-after', String(error.extensions.retryAfter));
  }
  if (error.status === 401) reply.header('www-authenticate', 'Signature');
  return JSON.stringify(toProblem(error, requestId));
}
