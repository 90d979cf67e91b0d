import { Agent, errors as undiciErrors, request as undiciRequest } from 'undici';

import { RampartError } from '../errors.js';
import { signHopRequest, type HopCredentials } from './hop-signature.js';
import { IDEMPOTENCY_KEY_HEADER, isValidIdempotencyKey } from './idempotency-key.js';
import { encodeIdentity, IDENTITY_HEADER, type Identity } from './identity.js';
import { checkOriginForm } from './origin-form.js';

/** Options of {@link createHopClient}. */
export interface HopClientOptions {
  /** Origin of the upstream service, such as `http://127.0.0.1:8082`. No path, query or userinfo. */
  baseUrl: string;
  /** Key id under which the upstream service accepts this caller, and the shared hop key. */
  credentials: HopCredentials;
  /** Deadline for the whole call (connect, headers and body), in milliseconds. Default 5000. */
  timeoutMs?: number;
  /** Maximum response body size in bytes. Default 1 MiB. */
  maxResponseBytes?: number;
}

/** One call through a {@link HopClient}. */
export interface HopCall {
  method: string;
  /** Origin-form path and optional query, sent and signed exactly as given. */
  target: string;
  /** The end user on whose behalf the call is made; sent as `Rampart-Identity`. */
  identity: Identity;
  /** JSON-serialized as the request body; undefined sends no body. */
  body?: unknown;
  /** Sent as `Idempotency-Key` and covered by the signature. */
  idempotencyKey?: string;
}

/** The upstream's reply. */
export interface HopResponse {
  status: number;
  /** Parsed JSON for a JSON media type, undefined when empty, otherwise the text. */
  body: unknown;
  /** Response headers, names in lowercase. */
  headers: Record<string, string | string[] | undefined>;
}

/** A client for hop-signed calls to one upstream service. */
export interface HopClient {
  /**
   * Signs and sends one call. Redirects are returned as they are, never followed.
   *
   * @throws RampartError `upstream_unavailable` when the connection fails, `upstream_timeout`
   *   when the deadline passes, `upstream_error` when the response body is too large or is
   *   invalid JSON. A TypeError for an invalid method, target or idempotency key.
   */
  request(call: HopCall): Promise<HopResponse>;
  /** Closes the client's connections; later calls fail with `upstream_unavailable`. */
  close(): Promise<void>;
}

const DEFAULTS = { timeoutMs: 5000, maxResponseBytes: 1024 * 1024 } as const;

// Methods for which undici 7 sends `Content-Length: 0` when there is no body. The receiver then
// treats the request as having a body, so the hop must carry the digest of the empty body.
const PAYLOAD_METHODS = new Set(['PUT', 'POST', 'PATCH', 'QUERY', 'PROPFIND', 'PROPPATCH']);

/**
 * Creates a client that makes hop-signed calls to one upstream service with undici. Each call
 * carries the caller's identity, a fresh signature and nonce, and runs under one deadline.
 *
 * @throws TypeError at construction for an invalid option.
 */
export function createHopClient(options: HopClientOptions): HopClient {
  const origin = parseBaseUrl(options.baseUrl);
  assertCredentials(options.credentials);
  const timeoutMs = options.timeoutMs ?? DEFAULTS.timeoutMs;
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULTS.maxResponseBytes;
  assertPositiveInteger(timeoutMs, 'timeoutMs');
  assertPositiveInteger(maxResponseBytes, 'maxResponseBytes');
  const agent = new Agent({ connect: { timeout: timeoutMs } });

  return {
    async request(call) {
      const { url, headers, body } = prepareCall(origin, call, options.credentials);
      try {
        const response = await undiciRequest(url, {
          dispatcher: agent,
          method: call.method,
          headers,
          body,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
          signal: AbortSignal.timeout(timeoutMs),
        });
        const text = await readText(response.body, maxResponseBytes);
        return {
          status: response.statusCode,
          body: parseResponseBody(text, response.headers['content-type']),
          headers: response.headers,
        };
      } catch (error) {
        throw toUpstreamError(error);
      }
    },
    close: () => agent.close(),
  };
}

function prepareCall(
  origin: URL,
  call: HopCall,
  credentials: HopCredentials,
): { url: string; headers: Record<string, string>; body: Uint8Array | undefined } {
  if (!/^[A-Z]+$/.test(call.method)) {
    throw new TypeError(
      `hop method must be an uppercase token, received ${JSON.stringify(call.method)}`,
    );
  }
  try {
    checkOriginForm(call.target);
  } catch {
    throw new TypeError('hop target must be a canonical origin-form path (see checkOriginForm)');
  }

  const headers: Record<string, string> = {
    accept: 'application/json',
    [IDENTITY_HEADER]: encodeIdentity(call.identity),
  };
  if (call.idempotencyKey !== undefined) {
    if (!isValidIdempotencyKey(call.idempotencyKey)) {
      throw new TypeError('hop idempotencyKey must be 1 to 255 visible ASCII characters');
    }
    headers[IDEMPOTENCY_KEY_HEADER] = call.idempotencyKey;
  }

  let body: Uint8Array | undefined;
  if (call.body !== undefined) body = Buffer.from(JSON.stringify(call.body), 'utf8');
  else if (PAYLOAD_METHODS.has(call.method)) body = new Uint8Array(0);

  signHopRequest(
    { method: call.method, origin, target: call.target, headers, ...(body ? { body } : {}) },
    credentials,
  );
  return { url: `${origin.origin}${call.target}`, headers, body };
}

async function readText(
  body: AsyncIterable<Buffer> & { destroy(): unknown },
  limit: number,
): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > limit) {
      body.destroy();
      throw new RampartError('upstream_error');
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

function parseResponseBody(text: string, contentType: string | string[] | undefined): unknown {
  if (text === '') return undefined;
  const mediaType = String(contentType ?? '')
    .split(';')[0]
    ?.trim()
    .toLowerCase();
  if (mediaType !== 'application/json' && !mediaType?.endsWith('+json')) return text;
  try {
    return JSON.parse(text);
  } catch {
    throw new RampartError('upstream_error');
  }
}

const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

function toUpstreamError(error: unknown): RampartError {
  if (error instanceof RampartError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const timedOut =
    (error instanceof Error && error.name === 'TimeoutError') ||
    (typeof code === 'string' && TIMEOUT_CODES.has(code)) ||
    error instanceof undiciErrors.HeadersTimeoutError ||
    error instanceof undiciErrors.BodyTimeoutError;
  const rejection = new RampartError(timedOut ? 'upstream_timeout' : 'upstream_unavailable');
  rejection.cause = error;
  return rejection;
}

function parseBaseUrl(baseUrl: string): URL {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new TypeError(
      `createHopClient option baseUrl must be an absolute URL, received ${JSON.stringify(baseUrl)}`,
    );
  }
  const hasExtra = url.pathname !== '/' || url.search !== '' || url.hash !== '';
  if (
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    url.username !== '' ||
    url.password !== '' ||
    hasExtra
  ) {
    throw new TypeError(
      `createHopClient option baseUrl must be an http(s) origin without path, query or userinfo, received ${JSON.stringify(url.origin + url.pathname)}`,
    );
  }
  return url;
}

function assertCredentials(credentials: HopCredentials): void {
  if (typeof credentials?.keyid !== 'string' || credentials.keyid === '') {
    throw new TypeError('createHopClient option credentials.keyid must be a non-empty string');
  }
  const algorithm = (credentials.key as { algorithm?: unknown } | undefined)?.algorithm;
  if (algorithm !== 'hmac-sha256' && algorithm !== 'ed25519') {
    throw new TypeError(
      'createHopClient option credentials.key must be a SignatureKey (use hmacKey())',
    );
  }
}

function assertPositiveInteger(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new TypeError(
      `createHopClient option ${name} must be a positive integer, received ${String(value)}`,
    );
  }
}
