import { serializeByteSequence } from 'structured-headers';

import { component } from '../../signature/components.js';
import { fieldsFromRecord, type SignableRequest } from '../../signature/message.js';
import { buildSignatureBase } from '../../signature/signature-base.js';
import {
  serializeSignatureParams,
  toParameters,
  type SignatureParams,
} from '../../signature/signature-input.js';
import { createContentDigest } from './content-digest.js';
import { toBase64Url, utf8 } from './encoding.js';
import { CLIENT_TAG, REQUEST_LABEL, UNSAFE_METHODS } from './protocol.js';

/** Input of {@link signRequest}. */
export interface RequestToSign {
  /** Gateway origin, such as `http://127.0.0.1:8080`. */
  origin: string;
  /** Path and optional query, relative to `origin`. */
  path: string;
  method: string;
  headers: Record<string, string>;
  /** JSON-serialized unless it is a string or bytes. */
  body: unknown;
  idempotencyKey: string | undefined;
  key: CryptoKey;
  keyid: string;
  /** `created` parameter in seconds since the epoch, on the gateway's clock. */
  created: number;
  /** Seconds after `created` at which the signature expires. */
  validitySeconds: number;
}

/** A signed request: its URL, the headers to send, the body and the request as signed. */
export interface SignedBrowserRequest {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: Uint8Array<ArrayBuffer> | undefined;
  /** The request in RFC 9421 form, with the signature headers, for response checks. */
  signable: SignableRequest;
  /** The signature base that was signed, for tests and diagnostics. */
  base: string;
}

/**
 * Signs a request for the gateway (RFC 9421, hmac-sha256 with WebCrypto). The signature covers
 * `@method`, `@authority`, `@path` and `@query`, plus `content-digest` and `content-type` when
 * there is a body and `idempotency-key` for unsafe methods. Its parameters are `created`,
 * `expires`, a random 128-bit `nonce`, `alg`, `keyid` and `tag="rampart"`.
 *
 * @throws TypeError when `path` resolves to another origin.
 */
export async function signRequest(request: RequestToSign): Promise<SignedBrowserRequest> {
  const method = request.method.toUpperCase();
  const url = new URL(request.path, request.origin);
  if (url.origin !== new URL(request.origin).origin) {
    throw new TypeError(`path must stay on the gateway origin ${request.origin}`);
  }
  const headers = lowercaseKeys(request.headers);

  // The Fetch standard sends Content-Length: 0 for a bodiless POST or PUT, and a bodiless PATCH
  // or DELETE may go either way, so every unsafe method sends an explicit body and its digest.
  let body = encodeBody(request.body, headers);
  if (body === undefined && UNSAFE_METHODS.has(method)) body = new Uint8Array(0);
  const components = ['@method', '@authority', '@path', '@query'];
  if (body !== undefined) {
    // An empty body is labelled JSON, the type services accept; it carries nothing to parse.
    headers['content-type'] ??=
      body.byteLength === 0 ? 'application/json' : 'application/octet-stream';
    headers['content-digest'] = await createContentDigest(body);
    components.push('content-digest', 'content-type');
  }
  if (UNSAFE_METHODS.has(method) && request.idempotencyKey !== undefined) {
    headers['idempotency-key'] = request.idempotencyKey;
    components.push('idempotency-key');
  }

  const params: SignatureParams = {
    created: request.created,
    expires: request.created + request.validitySeconds,
    nonce: toBase64Url(globalThis.crypto.getRandomValues(new Uint8Array(16))),
    alg: 'hmac-sha256',
    keyid: request.keyid,
    tag: CLIENT_TAG,
  };
  const identifiers = components.map((name) => component(name));
  const parameters = toParameters(params);
  const signable: SignableRequest = {
    method,
    scheme: url.protocol.slice(0, -1),
    authority: url.host,
    target: `${url.pathname}${url.search}`,
    headers: fieldsFromRecord(headers),
  };
  const base = buildSignatureBase(signable, identifiers, parameters);
  const signature = await globalThis.crypto.subtle.sign('HMAC', request.key, utf8(base));

  headers['signature-input'] =
    `${REQUEST_LABEL}=${serializeSignatureParams(identifiers, parameters)}`;
  headers['signature'] = `${REQUEST_LABEL}=${serializeByteSequence(signature)}`;
  return {
    url,
    method,
    headers,
    body,
    signable: { ...signable, headers: fieldsFromRecord(headers) },
    base,
  };
}

function lowercaseKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]),
  );
}

function encodeBody(
  body: unknown,
  headers: Record<string, string>,
): Uint8Array<ArrayBuffer> | undefined {
  if (body === undefined || body === null) return undefined;
  if (body instanceof Uint8Array) return new Uint8Array(body);
  if (typeof body === 'string') return utf8(body);
  headers['content-type'] ??= 'application/json';
  return utf8(JSON.stringify(body));
}
