import { randomBytes } from 'node:crypto';
import { request as httpRequest, type Server } from 'node:http';

import type { SignatureKey } from '../../src/signature/algorithms.js';
import { hmacKey } from '../../src/signature/algorithms.js';
import { signHopRequest, type HopCredentials } from '../../src/service/hop-signature.js';
import { encodeIdentity, IDENTITY_HEADER, type Identity } from '../../src/service/identity.js';

/** Creates a random 32-byte HMAC hop key. */
export function newHopKey(): SignatureKey {
  return hmacKey(randomBytes(32));
}

/** Builds an end-user identity with the given permissions. */
export function identityOf(sub: string, permissions: string[], roles: string[] = []): Identity {
  return {
    sub,
    sid: `session-${sub}`,
    roles,
    permissions,
    requestId: `request-${randomBytes(4).toString('hex')}`,
  };
}

/** A request as it goes on the wire: method, full URL, headers and body bytes. */
export interface WireRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: Uint8Array;
}

/** Options of {@link signedRequest}. */
export interface SignedRequestOptions {
  method: string;
  /** Origin of the service, such as `http://127.0.0.1:1234`. */
  origin: string;
  target: string;
  identity: Identity;
  credentials: HopCredentials;
  /** JSON body; a Uint8Array is sent as is. */
  body?: unknown;
  idempotencyKey?: string;
  /** Extra headers, added before signing. */
  headers?: Record<string, string>;
}

/** Builds a hop-signed request, which a test may alter before sending. */
export function signedRequest(options: SignedRequestOptions): WireRequest {
  const headers: Record<string, string> = {
    [IDENTITY_HEADER]: encodeIdentity(options.identity),
    ...options.headers,
  };
  if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
  let body: Uint8Array | undefined;
  if (options.body instanceof Uint8Array) body = options.body;
  else if (options.body !== undefined) body = Buffer.from(JSON.stringify(options.body));
  signHopRequest(
    {
      method: options.method,
      origin: new URL(options.origin),
      target: options.target,
      headers,
      ...(body ? { body } : {}),
    },
    options.credentials,
  );
  return {
    method: options.method,
    url: `${options.origin}${options.target}`,
    headers,
    ...(body ? { body } : {}),
  };
}

/** The parts of a response a test checks. */
export interface WireResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON, or the text when the body is not JSON. */
  body: unknown;
}

/**
 * Sends `wire` exactly as given with `node:http` and reads the whole response. undici would
 * resolve dot segments in the path before sending, so it cannot test path handling.
 */
export async function send(wire: WireRequest): Promise<WireResponse> {
  const origin = new URL(wire.url).origin;
  const { hostname, port } = new URL(origin);
  const headers: Record<string, string | number> = { ...wire.headers };
  if (wire.body !== undefined) headers['content-length'] = wire.body.byteLength;

  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      {
        host: hostname,
        port,
        method: wire.method,
        path: wire.url.slice(origin.length),
        headers,
        agent: false,
      },
      (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('error', reject);
        incoming.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text === '' ? undefined : text;
          try {
            if (text !== '') body = JSON.parse(text);
          } catch {
            // Not JSON: keep the text.
          }
          resolve({ status: incoming.statusCode ?? 0, headers: incoming.headers, body });
        });
      },
    );
    outgoing.setTimeout(5000, () => outgoing.destroy(new Error('test request timed out')));
    outgoing.on('error', reject);
    outgoing.end(wire.body);
  });
}

/** Returns the `code` member of a problem body. */
export function problemCode(response: WireResponse): unknown {
  return (response.body as { code?: unknown } | undefined)?.code;
}

/** Listens on 127.0.0.1 with a free port and returns the origin. */
export async function listenOnLoopback(server: Server): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no TCP address');
  return `http://127.0.0.1:${address.port}`;
}

/** Closes a node:http server and its idle keep-alive connections. */
export async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
