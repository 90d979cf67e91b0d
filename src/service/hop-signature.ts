import { createContentDigest } from '../signature/content-digest.js';
import type { SignatureKey } from '../signature/algorithms.js';
import type { HeaderFields } from '../signature/message.js';
import { signMessage } from '../signature/sign.js';
import type { VerificationPolicy } from '../signature/verify.js';
import { IDENTITY_HEADER } from './identity.js';

/** `tag` parameter of hop signatures, which keeps them apart from client signatures. */
export const HOP_TAG = 'rampart-hop';
/** Dictionary label of hop signatures. */
export const HOP_LABEL = 'hop';
/** Seconds a hop signature stays valid after `created`. */
export const HOP_VALIDITY_SECONDS = 30;

/**
 * Components a hop signature covers: the request line, the identity, and the body's digest and
 * type when there is a body, plus `idempotency-key` when present.
 */
export function hopComponents(options: { hasBody: boolean; hasIdempotencyKey: boolean }): string[] {
  const components = ['@method', '@authority', '@path', '@query', IDENTITY_HEADER];
  if (options.hasBody) components.push('content-digest', 'content-type');
  if (options.hasIdempotencyKey) components.push('idempotency-key');
  return components;
}

/** Verification policy a service applies to hop signatures. */
export function hopPolicy(options: {
  hasBody: boolean;
  hasIdempotencyKey: boolean;
}): VerificationPolicy {
  return {
    algorithms: ['hmac-sha256', 'ed25519'],
    requiredComponents: hopComponents(options),
    maxAgeSeconds: 30,
    maxFutureSeconds: 5,
    maxValiditySeconds: HOP_VALIDITY_SECONDS,
    requireExpires: true,
    requireNonce: true,
    selector: { tag: HOP_TAG },
  };
}

/** An outgoing hop request before signing. */
export interface HopRequest {
  method: string;
  /** Upstream origin; only its scheme and authority are used. */
  origin: URL;
  /** Path and optional query, sent and signed exactly as given. */
  target: string;
  /** Headers to send; must already include `rampart-identity`. Names in lowercase. */
  headers: Record<string, string>;
  /** Body bytes; undefined means no body. */
  body?: Uint8Array;
}

/** Hop signing credentials: the key id the receiving service knows and the shared key. */
export interface HopCredentials {
  keyid: string;
  key: SignatureKey;
}

/**
 * Adds `content-digest` (when there is a body), `signature-input` and `signature` to
 * `request.headers`, signing the hop with `credentials`. Returns the same headers object.
 */
export function signHopRequest(
  request: HopRequest,
  credentials: HopCredentials,
): Record<string, string> {
  const headers = request.headers;
  const hasBody = request.body !== undefined;
  if (hasBody) {
    headers['content-digest'] = createContentDigest(request.body as Uint8Array);
    headers['content-type'] ??= 'application/json';
  }
  const fields: HeaderFields = Object.entries(headers);
  const signed = signMessage(
    {
      method: request.method,
      scheme: request.origin.protocol.replace(':', ''),
      authority: request.origin.host,
      target: request.target,
      headers: fields,
    },
    {
      key: credentials.key,
      keyid: credentials.keyid,
      label: HOP_LABEL,
      tag: HOP_TAG,
      nonce: true,
      expiresIn: HOP_VALIDITY_SECONDS,
      components: hopComponents({ hasBody, hasIdempotencyKey: 'idempotency-key' in headers }),
    },
  );
  headers['signature-input'] = signed.signatureInput;
  headers['signature'] = signed.signature;
  return headers;
}
