import type { FastifyRequest } from 'fastify';

import { RampartError } from '../errors.js';
import { normalizeAuthority } from '../signature/components.js';
import { fieldsFromRawHeaders, type SignableRequest } from '../signature/message.js';
import type { VerificationPolicy } from '../signature/verify.js';
import type { GatewayConfig } from './config.js';
import { forwardedFacts, isFromTrustedProxy } from './trusted-proxy.js';

/** `tag` parameter every client request signature carries. */
export const CLIENT_TAG = 'rampart';

/** Methods that change state: they need an Idempotency-Key and a durable audit entry first. */
export const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Returns true when the request carries content: a `Content-Length` above zero or any
 * `Transfer-Encoding`. Such a request needs a covered, matching Content-Digest. An empty body
 * (`Content-Length: 0`) and an absent one are treated alike, because fetch implementations
 * differ on which of the two a bodiless DELETE or PATCH sends. A digest on either must be the
 * digest of zero bytes, so neither can gain content after signing.
 */
export function requestHasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  return (
    request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
  );
}

// The four policies of one configuration, built once instead of per request and indexed by the
// request's two flags.
const policiesByConfig = new WeakMap<GatewayConfig, VerificationPolicy[]>();

/** Returns the signature policy the gateway applies to one client request. */
export function clientPolicy(
  config: GatewayConfig,
  request: { hasBody: boolean; needsIdempotencyKey: boolean },
): VerificationPolicy {
  let policies = policiesByConfig.get(config);
  if (policies === undefined) {
    policies = [];
    policiesByConfig.set(config, policies);
  }
  const index = (request.hasBody ? 1 : 0) + (request.needsIdempotencyKey ? 2 : 0);
  policies[index] ??= buildClientPolicy(config, request);
  return policies[index];
}

function buildClientPolicy(
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
  const facts = isFromTrustedProxy(request, trustedProxies) ? forwardedFacts(request) : {};
  const hostHeader = request.headers.host;
  if (Array.isArray(hostHeader)) throw new RampartError('request_malformed', { field: 'host' });
  const host = (facts.host ?? hostHeader ?? '').toLowerCase();
  const scheme = facts.proto;

  const origin = origins.find((candidate) => {
    const candidateScheme = candidate.protocol.slice(0, -1);
    if (scheme !== undefined && candidateScheme !== scheme) return false;
    // URL.host drops a default port; a Host header may still carry it.
    return candidate.host === normalizeAuthority(candidateScheme, host);
  });
  if (origin === undefined) throw new RampartError('host_rejected');
  return origin;
}

/** Builds the request in the form RFC 9421 signs, with the target exactly as received. */
export function signableRequest(request: FastifyRequest, origin: URL): SignableRequest {
  return {
    method: request.method,
    scheme: origin.protocol.slice(0, -1),
    authority: origin.host,
    target: request.url,
    headers: fieldsFromRawHeaders(request.raw.rawHeaders),
  };
}
