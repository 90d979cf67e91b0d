import { Pool, errors as undiciErrors } from 'undici';

import {
  ERRORS,
  PROBLEM_CONTENT_TYPE,
  RampartError,
  toProblem,
  type ErrorCode,
} from '../errors.js';
import { hmacKey } from '../signature/algorithms.js';
import type { HopCredentials } from '../service/hop-signature.js';
import { signHopRequest } from '../service/hop-signature.js';
import { encodeIdentity, IDENTITY_HEADER } from '../service/identity.js';
import type { SessionClaims } from '../session/session-token.js';
import type { GatewayConfig } from './config.js';
import type { RampartKeys } from '../session/key-file.js';

/** An upstream service the gateway forwards to, with the hop key it signs with. */
export interface Upstream {
  name: string;
  origin: URL;
  /**
   * Credentials of the hop key version that signs now: the newest active one, so a rotated
   * key takes over at its `activeFrom` without a restart.
   */
  credentials(): HopCredentials;
  /** Keep-alive connections to the service; the path is sent exactly as given. */
  pool: Pool;
}

/** Builds the upstream table from configuration and checks that every hop key exists. */
export function buildUpstreams(config: GatewayConfig, keys: RampartKeys): Map<string, Upstream> {
  const upstreams = new Map<string, Upstream>();
  for (const [name, service] of Object.entries(config.services)) {
    upstreams.set(name, {
      name,
      origin: new URL(service.url),
      credentials: hopCredentials(name, service.hopKeyId, keys),
      pool: new Pool(service.url, { connections: 64 }),
    });
  }
  return upstreams;
}

/**
 * Returns a function that yields the signing credentials of hop key `hopKeyId`, with each
 * version's HMAC key imported once.
 *
 * @throws Error naming the option when the key file has no hop key of that name.
 */
export function hopCredentials(
  service: string,
  hopKeyId: string,
  keys: RampartKeys,
): () => HopCredentials {
  const ring = keys.hopRings.get(hopKeyId);
  if (ring === undefined) {
    throw new Error(
      `option "services.${service}.hopKeyId": key "${hopKeyId}" is not in the key file`,
    );
  }
  const imported = new Map<string, HopCredentials>();
  return () => {
    const current = ring.current;
    let credentials = imported.get(current.kid);
    if (credentials === undefined) {
      credentials = { keyid: current.kid, key: hmacKey(current.key) };
      imported.set(current.kid, credentials);
    }
    return credentials;
  };
}

// Request headers that pass to a service. Everything else is dropped: cookies, authorization,
// signatures, identity claims, hop-by-hop headers and whatever the client invents.
const FORWARDED_REQUEST_HEADERS = ['content-type', 'accept', 'accept-language', 'idempotency-key'];
// Response headers that pass back. Set-Cookie, Location and upstream signatures never do.
const FORWARDED_RESPONSE_HEADERS = [
  'content-type',
  'cache-control',
  'retry-after',
  'idempotent-replayed',
];
const MAX_UPSTREAM_BODY_BYTES = 16 * 1024 * 1024;

/** A service's response, already read and filtered. */
export interface UpstreamResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** One call to forward. */
export interface ForwardOptions {
  upstream: Upstream;
  method: string;
  /** Path and query, exactly as verified. */
  target: string;
  clientHeaders: Record<string, string | string[] | undefined>;
  body: Buffer | undefined;
  claims: SessionClaims;
  requestId: string;
  timeoutMs: number;
}

/**
 * Forwards a verified request to its service with a fresh hop signature and the caller's
 * identity. Follows no redirects and bounds the wait by `timeoutMs`.
 *
 * @throws RampartError `upstream_timeout` or `upstream_unavailable`.
 */
export async function forwardRequest(options: ForwardOptions): Promise<UpstreamResponse> {
  const headers: Record<string, string> = {};
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const value = options.clientHeaders[name];
    if (typeof value === 'string') headers[name] = value;
  }
  headers[IDENTITY_HEADER] = encodeIdentity({
    sub: options.claims.sub,
    sid: options.claims.sid,
    roles: options.claims.roles,
    permissions: options.claims.permissions,
    requestId: options.requestId,
  });
  headers['rampart-request-id'] = options.requestId;
  signHopRequest(
    {
      method: options.method,
      origin: options.upstream.origin,
      target: options.target,
      headers,
      body: options.body,
    },
    options.upstream.credentials(),
  );

  // One deadline for the whole exchange, cleared as soon as it ends. AbortSignal.timeout would
  // keep a timer and its signal alive for the full timeout after every request.
  const deadline = new AbortController();
  const timer = setTimeout(
    () => deadline.abort(new DOMException('upstream deadline passed', 'TimeoutError')),
    options.timeoutMs,
  );
  try {
    // A WHATWG URL would re-escape some query characters and break the hop signature, so the
    // pool gets the verified target as a raw path.
    const response = await options.upstream.pool.request({
      path: options.target,
      method: options.method as 'GET',
      headers,
      body: options.body,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      signal: deadline.signal,
    });
    const body = await readCapped(response.body);
    const passed: Record<string, string> = {};
    for (const name of FORWARDED_RESPONSE_HEADERS) {
      const value = response.headers[name];
      if (typeof value === 'string') passed[name] = value;
    }
    return { status: response.statusCode, headers: passed, body };
  } catch (error) {
    if (error instanceof RampartError) throw error;
    if (
      error instanceof undiciErrors.HeadersTimeoutError ||
      error instanceof undiciErrors.BodyTimeoutError ||
      (error as Error).name === 'TimeoutError'
    ) {
      throw new RampartError('upstream_timeout');
    }
    throw new RampartError('upstream_unavailable');
  } finally {
    clearTimeout(timer);
  }
}

async function readCapped(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += chunk.length;
    if (size > MAX_UPSTREAM_BODY_BYTES) throw new RampartError('upstream_unavailable');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * Rewrites an upstream error so that nothing internal reaches the client: a problem body whose
 * `code` is in the registry with the same status passes with only its registry fields, and any
 * other 4xx or 5xx answer becomes `upstream_error`. Successful answers pass unchanged.
 */
export function sanitizeUpstreamError(
  response: UpstreamResponse,
  requestId: string,
): UpstreamResponse {
  if (response.status < 400) return response;
  const known = knownProblem(response);
  const error = known ?? new RampartError('upstream_error');
  const problem = toProblem(error, requestId);
  return {
    status: error.status,
    headers: { 'content-type': PROBLEM_CONTENT_TYPE },
    body: Buffer.from(JSON.stringify(problem)),
  };
}

function knownProblem(response: UpstreamResponse): RampartError | undefined {
  if (!(response.headers['content-type'] ?? '').startsWith(PROBLEM_CONTENT_TYPE)) return undefined;
  let body: unknown;
  try {
    body = JSON.parse(response.body.toString('utf8'));
  } catch {
    return undefined;
  }
  const code = (body as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !Object.hasOwn(ERRORS, code)) return undefined;
  const error = new RampartError(code as ErrorCode);
  if (error.status !== response.status) return undefined;
  const field = (body as { field?: unknown }).field;
  return typeof field === 'string' && field.length <= 64
    ? new RampartError(code as ErrorCode, { field })
    : error;
}
