import { randomUUID } from 'node:crypto';

import { createClientHandshake } from '../../src/session/handshake.js';
import { hmacKey, type SignatureKey } from '../../src/signature/algorithms.js';
import { createContentDigest } from '../../src/signature/content-digest.js';
import { fieldsFromRecord } from '../../src/signature/message.js';
import { signMessage, type SignOptions } from '../../src/signature/sign.js';
import { sendRaw, type RawResponse } from './raw-http.js';

/** A logged-in session whose key the test holds, to craft requests by hand. */
export interface TestSession {
  sessionId: string;
  key: SignatureKey;
  token: string;
  login: Record<string, unknown>;
}

/** Logs in over the real handshake and keeps the derived key. */
export async function loginSession(
  origin: string,
  username: string,
  password: string,
): Promise<TestSession> {
  const handshake = createClientHandshake();
  const response = await sendRaw(origin, {
    method: 'POST',
    target: '/auth/login',
    headers: [['content-type', 'application/json']],
    body: JSON.stringify({ username, password, clientPublicKey: handshake.publicKey }),
  });
  if (response.status !== 200)
    throw new Error(`login failed: ${response.status} ${String(response.json.code)}`);
  const login = response.json;
  const sessionId = login.sessionId as string;
  const key = handshake.deriveKey(login.serverPublicKey as string, login.salt as string, sessionId);
  return { sessionId, key: hmacKey(key), token: login.token as string, login };
}

/** A request to sign; every field can be bent to test one rejection. */
export interface SignedRequestSpec {
  method: string;
  target: string;
  body?: string;
  /** Extra header lines sent and visible to the signer. */
  headers?: Array<[string, string]>;
  /** Authority the signer believes in; default the origin's host. */
  authority?: string;
  /** Scheme the signer believes in; default `http`. */
  scheme?: string;
  components?: string[];
  created?: number;
  expiresIn?: number;
  nonce?: string;
  sign?: Partial<SignOptions>;
  idempotencyKey?: string | null;
  /** Content-Digest value to sign in place of the correct one. */
  digest?: string;
  /** Changes applied after signing, to model tampering in transit. */
  after?: (request: {
    target: string;
    headers: Array<[string, string]>;
    body?: string;
    method: string;
  }) => void;
  token?: string | null;
}

/** A signed request ready for `sendRaw`, which a test may send more than once. */
export interface SignedRawRequest {
  method: string;
  target: string;
  headers: Array<[string, string]>;
  body?: string;
}

/** Signs a request the way a conforming client does, applies `after`, and sends it. */
export async function sendSigned(
  origin: string,
  session: TestSession,
  spec: SignedRequestSpec,
): Promise<RawResponse> {
  return sendRaw(origin, signRequest(origin, session, spec));
}

/** Signs a request the way a conforming client does and applies `after`, without sending it. */
export function signRequest(
  origin: string,
  session: TestSession,
  spec: SignedRequestSpec,
): SignedRawRequest {
  const url = new URL(origin);
  const headers: Array<[string, string]> = [...(spec.headers ?? [])];
  const components = spec.components ?? ['@method', '@authority', '@path', '@query'];
  if (spec.body !== undefined) {
    if (!headers.some(([name]) => name === 'content-type'))
      headers.push(['content-type', 'application/json']);
    headers.push(['content-digest', spec.digest ?? createContentDigest(Buffer.from(spec.body))]);
    if (spec.components === undefined) components.push('content-digest', 'content-type');
  }
  const unsafe = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(spec.method);
  if (unsafe && spec.idempotencyKey !== null) {
    headers.push(['idempotency-key', spec.idempotencyKey ?? randomUUID()]);
    if (spec.components === undefined) components.push('idempotency-key');
  }

  const signed = signMessage(
    {
      method: spec.method,
      scheme: spec.scheme ?? 'http',
      authority: spec.authority ?? url.host,
      target: spec.target,
      headers: fieldsFromRecord(headers),
    },
    {
      key: session.key,
      keyid: session.sessionId,
      components,
      created: spec.created,
      expiresIn: spec.expiresIn ?? 30,
      nonce: spec.nonce ?? true,
      tag: 'rampart',
      ...spec.sign,
    },
  );
  headers.push(['signature-input', signed.signatureInput], ['signature', signed.signature]);
  const token = spec.token === undefined ? session.token : spec.token;
  if (token !== null) headers.push(['authorization', `Bearer ${token}`]);

  const request = { target: spec.target, headers, body: spec.body, method: spec.method };
  spec.after?.(request);
  return request;
}
