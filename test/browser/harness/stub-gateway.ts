import { createContentDigest, MemorySessionStore } from '../../../src/client/browser/index.js';
import { component } from '../../../src/signature/components.js';
import { fieldsFromRecord } from '../../../src/signature/message.js';
import { buildSignatureBase } from '../../../src/signature/signature-base.js';
import {
  parseSignature,
  serializeSignatureParams,
  toParameters,
} from '../../../src/signature/signature-input.js';

/** A request the stub received, with the signature parameters the SDK chose. */
export interface StubCall {
  method: string;
  path: string;
  headers: Record<string, string>;
  created: number | undefined;
  nonce: string | undefined;
}

/** A stub response: a JSON body, signed as the gateway signs unless `signed` is false. */
export interface StubResponse {
  status: number;
  body: unknown;
  signed?: boolean;
}

/**
 * Returns a `fetch` that plays the gateway for SDK tests in the page. It records each call and
 * responds with what `respond` returns, signing the response with `key` as the gateway does (tag `rampart-response`,
 * covering `@status`, `content-digest`, `content-type` and the request's signature).
 */
export function stubGateway(options: {
  key: CryptoKey;
  sessionId: string;
  respond: (call: StubCall, index: number) => StubResponse;
}): { fetch: typeof fetch; calls: StubCall[] } {
  const calls: StubCall[] = [];

  const stub = async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(String(input));
    const headers = { ...(init.headers as Record<string, string>) };
    const request = {
      method: init.method ?? 'GET',
      scheme: url.protocol.slice(0, -1),
      authority: url.host,
      target: `${url.pathname}${url.search}`,
      headers: fieldsFromRecord(headers),
    };
    const params = parseSignature(request.headers, { tag: 'rampart' }).params;
    const call: StubCall = {
      method: request.method,
      path: request.target,
      headers,
      created: params.created,
      nonce: params.nonce,
    };
    calls.push(call);
    const reply = options.respond(call, calls.length - 1);

    const body = new TextEncoder().encode(JSON.stringify(reply.body));
    const responseHeaders: Record<string, string> = {
      'content-type': 'application/json',
      'content-digest': await createContentDigest(body),
    };
    if (reply.signed !== false) {
      const components = [
        component('@status'),
        component('content-digest'),
        component('content-type'),
        component('signature', { req: true, key: 'sig1' }),
      ];
      const parameters = toParameters({
        created: Math.floor(Date.now() / 1000),
        keyid: options.sessionId,
        alg: 'hmac-sha256',
        tag: 'rampart-response',
      });
      const base = buildSignatureBase(
        { status: reply.status, headers: fieldsFromRecord(responseHeaders), request },
        components,
        parameters,
      );
      const mac = await crypto.subtle.sign('HMAC', options.key, new TextEncoder().encode(base));
      responseHeaders['signature-input'] =
        `res=${serializeSignatureParams(components, parameters)}`;
      responseHeaders['signature'] = `res=:${btoa(String.fromCharCode(...new Uint8Array(mac)))}:`;
    }
    return new Response(body, { status: reply.status, headers: responseHeaders });
  };
  return { fetch: stub as typeof fetch, calls };
}

/**
 * Creates a random non-extractable session key and a memory store holding a session for the
 * page's origin whose token expires `tokenSeconds` from now on a local clock that runs
 * `clockShiftMs` ahead of the real one.
 */
export async function storedSessionFixture(
  tokenSeconds: number,
  clockShiftMs = 0,
): Promise<{
  key: CryptoKey;
  store: MemorySessionStore;
  sessionId: string;
}> {
  const key = await crypto.subtle.importKey(
    'raw',
    crypto.getRandomValues(new Uint8Array(32)),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign', 'verify'],
  );
  const store = new MemorySessionStore();
  const sessionId = 'stub-session';
  const now = Date.now();
  const localNow = now + clockShiftMs;
  await store.save({
    origin: location.origin,
    sessionId,
    subject: 'u-alice',
    username: 'alice',
    roles: ['customer'],
    permissions: ['accounts:read'],
    expiresAt: Math.floor(now / 1000) + tokenSeconds,
    sessionExpiresAt: Math.floor(now / 1000) + 3600,
    key,
    localExpiresAt: localNow + tokenSeconds * 1000,
    localSessionExpiresAt: localNow + 3600 * 1000,
    clockOffset: 0,
  });
  return { key, store, sessionId };
}
