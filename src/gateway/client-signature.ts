import type { FastifyRequest } from 'fastify';

import { RampartError } from '../errors.js';
import { fieldsFromRawHeaders, type SignableRequest } from '../signature/message.js';
import type { VerificationPolicy } from '../signature/verify.js';
import type { GatewayConfig } from './config.js';

/** `tag` parameter every client request signature carries. */
export const CLIENT_TAG = 'rampart';

/** Methods that change state: they need an Idempotency-Key and a durable audit entry first. */
export const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Returns true when the request has a body. An empty body (`Content-Length: 0`) is a body and
 * needs the digest of zero bytes; no `Content-Length` and no `Transfer-Encoding` is no body.
 */
export function requestHasBody(request: FastifyRequest): boolean {
  return (
    request.headers['content-length'] !== undefined ||
    request.headers['transfer-encoding'] !== undefined
  );
}

/** The signature policy the gateway applies to one client request. */
export function clientPolicy(
  config: GatewayConfig,
  request: { hasBody: boolean; needsIdempotencyKey: boolean },
): VerificationPolicy {
  const required = ['@method', '@authority', '@path', '@query'];
  if (request.hasBody) required.push('content-digest', 'content-type');
  if (request.needsIdempotencyKey) required.push('idempotency-key');
  return {
    algorithms: ['hmac-sha256'],
    requiredComponents: required,
    maxAgeSeconds: config.signature.maxAgeSeconds,
    maxFutureSeconds: config.signature.maxFutureSeconds,
    maxValiditySeconds: config.signature.maxValiditySeconds,
    requireExpires: true,
    requireNonce: true,
    selector: { tag: CLIENT_TAG },
  };
}

/**
 * Picks the public origin for a request: the Host (or, from a trusted proxy only,
 * `X-Forwarded-Host` and `X-Forwarded-Proto`) must name one of the configured origins.
 *
 * @throws RampartError `host_rejected`
 */
export function resolveOrigin(
  request: FastifyRequest,
  origins: readonly URL[],
  trustedProxies: readonly string[],
): URL {
  const fromProxy = trustedProxies.includes(request.socket.remoteAddress ?? '');
  const forwardedHost = fromProxy ? singleHeader(request, 'x-forwarded-host') : undefined;
  const forwardedProto = fromProxy ? singleHeader(request, 'x-forwarded-proto') : undefined;
  const host = (forwardedHost ?? singleHeader(request, 'host') ?? '').toLowerCase();
  const scheme = forwardedProto?.toLowerCase();

  const origin = origins.find(
    (candidate) =>
      candidate.host === host && (scheme === undefined || candidate.protocol === `${scheme}:`),
  );
  if (origin === undefined) throw new RampartError('host_rejected');
  return origin;
}

function singleHeader(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  if (Array.isArray(value)) throw new RampartError('request_malformed', { field: name });
  return value;
}

/** The request as RFC 9421 sees it, with the target exactly as received. */
export function signableRequest(request: FastifyRequest, origin: URL): SignableRequest {
  return {
    method: request.method,
    scheme: origin.protocol.slice(0, -1),
    authority: origin.host,
    target: request.url,
    headers: fieldsFromRawHeaders(request.raw.rawHeaders),
  };
}
