import { RampartClientError } from '../client-error.js';
import { component, componentKey } from '../../signature/components.js';
import { fieldsFromRecord, type SignableRequest } from '../../signature/message.js';
import { buildSignatureBase } from '../../signature/signature-base.js';
import { parseSignature } from '../../signature/signature-input.js';
import { contentDigestMatches } from './content-digest.js';
import { utf8 } from './encoding.js';
import { REQUEST_LABEL, RESPONSE_TAG } from './protocol.js';

/** A response whose body has been read, with whether the gateway's signature covered it. */
export interface CheckedResponse {
  response: Response;
  /** True when the response carried a valid signature bound to the request. */
  verified: boolean;
}

// Statuses whose responses must have a null body (Fetch standard, "null body status").
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/**
 * Checks the gateway's RFC 9421 response signature (`tag="rampart-response"`) with the session
 * key: it must cover `@status`, `content-digest`, `content-type` when the response has one, and
 * the request's own signature (`"signature";req;key="sig1"`), which binds the response to this one
 * request and its fresh nonce. The body must match `Content-Digest`. The returned response
 * holds the exact bytes that were checked.
 *
 * An unsigned response is accepted only as a rejection (status 400 or more): the gateway cannot
 * sign before it has opened the session token, for example when the token has expired. Such an
 * response is returned with `verified: false`.
 *
 * @throws RampartClientError `response_signature_invalid` for an unsigned success, a signature
 *   that does not verify or is bound to another request, or a body that does not match.
 */
export async function checkResponse(
  response: Response,
  request: SignableRequest,
  session: { sessionId: string; key: CryptoKey },
): Promise<CheckedResponse> {
  const body = new Uint8Array(await response.arrayBuffer());
  const copy = new Response(NULL_BODY_STATUSES.has(response.status) ? null : body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });

  if (!response.headers.has('signature') && !response.headers.has('signature-input')) {
    if (response.status < 400) {
      throw new RampartClientError(
        'response_signature_invalid',
        'the response is not signed',
        response.status,
      );
    }
    return { response: copy, verified: false };
  }

  let valid: boolean;
  try {
    valid = await verifySignature(response, body, request, session);
  } catch {
    valid = false;
  }
  if (!valid) {
    throw new RampartClientError(
      'response_signature_invalid',
      'the response signature does not verify',
      response.status,
    );
  }
  return { response: copy, verified: true };
}

async function verifySignature(
  response: Response,
  body: Uint8Array<ArrayBuffer>,
  request: SignableRequest,
  session: { sessionId: string; key: CryptoKey },
): Promise<boolean> {
  const headers = fieldsFromRecord(response.headers as unknown as Iterable<[string, string]>);
  const parsed = parseSignature(headers, { tag: RESPONSE_TAG });
  if (parsed.params.alg !== undefined && parsed.params.alg !== 'hmac-sha256') return false;
  if (parsed.params.keyid !== session.sessionId) return false;

  const required = [
    component('@status'),
    component('content-digest'),
    component('signature', { req: true, key: REQUEST_LABEL }),
  ];
  if (response.headers.has('content-type')) required.push(component('content-type'));
  const covered = new Set(parsed.components.map(componentKey));
  if (!required.every((id) => covered.has(componentKey(id)))) return false;

  // No time window applies: covering the request's signature, which carries a new nonce, makes
  // the response fresh, so a wrong local clock cannot cause a rejection.
  const base = buildSignatureBase(
    { status: response.status, headers, request },
    parsed.components,
    parsed.rawParams,
  );
  const subtle = globalThis.crypto.subtle;
  const signature = new Uint8Array(parsed.signature);
  if (!(await subtle.verify('HMAC', session.key, signature, utf8(base)))) return false;

  return contentDigestMatches(response.headers.get('content-digest') ?? '', body);
}
