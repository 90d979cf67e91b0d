import { randomUUID } from 'node:crypto';

import { hmacKey, type SignatureKey } from '../signature/algorithms.js';
import { createContentDigest, checkContentDigest } from '../signature/content-digest.js';
import { fieldsFromRecord, type SignableRequest } from '../signature/message.js';
import { signMessage } from '../signature/sign.js';
import { verifyMessage } from '../signature/verify.js';
import { createClientHandshake } from '../session/handshake.js';
import { RampartClientError } from './client-error.js';
import { startupWaitMs } from './startup-wait.js';

/** Options for {@link RampartClient}. */
export interface RampartClientOptions {
  /** Gateway origin, e.g. `http://127.0.0.1:8080`. */
  baseUrl: string;
  /** Refresh the token when fewer than this many seconds remain. Default 60. */
  refreshMarginSeconds?: number;
  /** Seconds a request signature stays valid. Default 30. */
  signatureValiditySeconds?: number;
  /** Fetch implementation. Default: the global `fetch`. */
  fetch?: typeof fetch;
  /** Local clock in milliseconds. Default `Date.now`. */
  clock?: () => number;
}

/** The session a successful login establishes. */
export interface ClientSession {
  sessionId: string;
  subject: string;
  roles: string[];
  permissions: string[];
  token: string;
  expiresAt: number;
  sessionExpiresAt: number;
}

/** A signed request, ready for `fetch(url, init)`. */
export interface SignedRequest {
  url: URL;
  init: RequestInit;
}

/** Per-call options beyond `RequestInit`. */
export interface SignedRequestInit {
  method?: string;
  /** JSON-serialized unless it is a string or bytes. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Idempotency-Key for unsafe methods. Default: a new random UUID per call. */
  idempotencyKey?: string;
}

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * A Node client for a Rampart gateway: logs in with the ECDH handshake, signs every request
 * (RFC 9421, hmac-sha256, with Content-Digest, a nonce and an Idempotency-Key for unsafe
 * methods), corrects its clock from signed `clock_skew` answers, refreshes the token before it
 * expires (one refresh at a time) and checks the gateway's response signatures.
 */
export class RampartClient {
  readonly #baseUrl: URL;
  readonly #fetch: typeof fetch;
  readonly #refreshMargin: number;
  readonly #validity: number;
  readonly #clock: () => number;
  #session: (ClientSession & { key: SignatureKey }) | undefined;
  /** Server time minus local time, in seconds. */
  #clockOffset = 0;
  #refreshing: Promise<void> | undefined;

  constructor(options: RampartClientOptions) {
    this.#baseUrl = new URL(options.baseUrl);
    this.#fetch = options.fetch ?? fetch;
    this.#refreshMargin = options.refreshMarginSeconds ?? 60;
    this.#validity = options.signatureValiditySeconds ?? 30;
    this.#clock = options.clock ?? Date.now;
  }

  /** The current session, without its key. */
  get session(): ClientSession | undefined {
    if (this.#session === undefined) return undefined;
    const { key: _key, ...session } = this.#session;
    return session;
  }

  /** Seconds added to the local clock to match the gateway's. */
  get clockOffset(): number {
    return this.#clockOffset;
  }

  /**
   * Logs in and derives the session key. The password goes to the gateway once, over the
   * connection; the session key never travels.
   *
   * @throws RampartClientError `login_failed` with the gateway's code when login is rejected.
   */
  async login(username: string, password: string): Promise<ClientSession> {
    const handshake = createClientHandshake();
    const response = await this.#fetch(new URL('/auth/login', this.#baseUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        username,
        password,
        clientPublicKey: handshake.publicKey,
        client: 'native',
      }),
      redirect: 'manual',
    });
    const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (response.status !== 200) {
      throw new RampartClientError(
        String(body.code ?? 'login_failed'),
        `login failed with status ${response.status}`,
        response.status,
      );
    }
    const sessionId = body.sessionId as string;
    const key = handshake.deriveKey(body.serverPublicKey as string, body.salt as string, sessionId);
    this.#clockOffset = (body.serverTime as number) - this.#nowSeconds();
    this.#session = {
      sessionId,
      subject: body.subject as string,
      roles: body.roles as string[],
      permissions: body.permissions as string[],
      token: body.token as string,
      expiresAt: body.expiresAt as number,
      sessionExpiresAt: body.sessionExpiresAt as number,
      key: hmacKey(key),
    };
    return this.session as ClientSession;
  }

  /**
   * Sends a signed request to `path` (path and query, relative to the gateway origin). Retries
   * once, with a fresh nonce, after a signed `clock_skew` response, and once after a
   * `store_starting` response whose Retry-After is at most 10 seconds.
   *
   * @throws RampartClientError `not_logged_in`, `session_expired`, `refresh_failed` or
   *   `response_signature_invalid`.
   */
  async fetch(path: string, init: SignedRequestInit = {}): Promise<Response> {
    await this.#refreshIfDue();
    const idempotencyKey = init.idempotencyKey ?? randomUUID();
    const first = await this.#exchange(path, init, idempotencyKey);
    if (first.response.status !== 401 || !first.signed) return first.response;

    const problem = (await first.response
      .clone()
      .json()
      .catch(() => ({}))) as Record<string, unknown>;
    if (problem.code !== 'clock_skew' || typeof problem.serverTime !== 'number') {
      return first.response;
    }
    // Only a clock_skew answer signed with the session key moves the clock, so a network
    // attacker cannot feed the client a false server time.
    this.#clockOffset = problem.serverTime - this.#nowSeconds();
    return this.#send(path, init, idempotencyKey);
  }

  /** Renews the token now. Concurrent callers share one refresh. */
  async refresh(): Promise<void> {
    this.#refreshing ??= this.#doRefresh().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  /** Logs out: the gateway revokes the session, and the key is dropped here. */
  async logout(): Promise<Response> {
    const response = await this.#send('/auth/logout', { method: 'POST', body: {} }, undefined);
    this.#session = undefined;
    return response;
  }

  async #refreshIfDue(): Promise<void> {
    const session = this.#requireSession();
    const now = this.#nowSeconds() + this.#clockOffset;
    if (session.sessionExpiresAt <= now)
      throw new RampartClientError('session_expired', 'the session has ended; log in again');
    if (session.expiresAt - now <= this.#refreshMargin) await this.refresh();
  }

  async #doRefresh(): Promise<void> {
    const response = await this.#send('/auth/refresh', { method: 'POST', body: {} }, undefined);
    const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (response.status !== 200 || typeof body.token !== 'string') {
      throw new RampartClientError(
        String(body.code ?? 'refresh_failed'),
        `refresh failed with status ${response.status}`,
        response.status,
      );
    }
    const session = this.#requireSession();
    session.token = body.token;
    session.expiresAt = body.expiresAt as number;
  }

  /**
   * Signs a request without sending it and returns what to pass to `fetch`. `created` overrides
   * the signature time (seconds, gateway clock), which tests and demos use to show a stale one.
   */
  sign(
    path: string,
    init: SignedRequestInit = {},
    options: { created?: number } = {},
  ): SignedRequest {
    const method = (init.method ?? 'GET').toUpperCase();
    const idempotencyKey = UNSAFE_METHODS.has(method)
      ? (init.idempotencyKey ?? randomUUID())
      : undefined;
    return this.#sign(path, init, idempotencyKey, options.created);
  }

  #sign(
    path: string,
    init: SignedRequestInit,
    idempotencyKey: string | undefined,
    created?: number,
  ): SignedRequest {
    const session = this.#requireSession();
    const method = (init.method ?? 'GET').toUpperCase();
    const url = this.#resolve(path);
    const headers: Record<string, string> = { ...lowercaseKeys(init.headers ?? {}) };
    headers.authorization = `Bearer ${session.token}`;

    // fetch implementations differ on whether a bodiless PATCH or DELETE sends
    // Content-Length: 0, so every unsafe method sends an explicit empty body and its digest.
    let body = encodeBody(init.body, headers);
    if (body === undefined && UNSAFE_METHODS.has(method)) body = new Uint8Array(0);
    if (body !== undefined) {
      // An empty body is labelled JSON, the type services accept; it carries nothing to parse.
      headers['content-type'] ??=
        body.byteLength === 0 ? 'application/json' : 'application/octet-stream';
      headers['content-digest'] = createContentDigest(body);
    }
    const components = ['@method', '@authority', '@path', '@query'];
    if (body !== undefined) components.push('content-digest', 'content-type');
    if (UNSAFE_METHODS.has(method) && idempotencyKey !== undefined) {
      headers['idempotency-key'] = idempotencyKey;
      components.push('idempotency-key');
    }

    const request: SignableRequest = {
      method,
      scheme: url.protocol.slice(0, -1),
      authority: url.host,
      target: `${url.pathname}${url.search}`,
      headers: fieldsFromRecord(headers),
    };
    const signed = signMessage(request, {
      key: session.key,
      keyid: session.sessionId,
      components,
      created: created ?? this.#nowSeconds() + this.#clockOffset,
      expiresIn: this.#validity,
      nonce: true,
      tag: 'rampart',
    });
    headers['signature-input'] = signed.signatureInput;
    headers['signature'] = signed.signature;
    return {
      url,
      init: { method, headers, body: body as BodyInit | undefined, redirect: 'manual' },
    };
  }

  async #send(
    path: string,
    init: SignedRequestInit,
    idempotencyKey: string | undefined,
  ): Promise<Response> {
    return (await this.#exchange(path, init, idempotencyKey)).response;
  }

  // A gateway that restarted moments ago responds 503 store_starting until it can tell new
  // signatures from used ones. The request had no effect, so it is signed again with a new
  // nonce and sent once more after Retry-After, when that wait is short.
  async #exchange(
    path: string,
    init: SignedRequestInit,
    idempotencyKey: string | undefined,
  ): Promise<{ response: Response; signed: boolean }> {
    const first = await this.#exchangeOnce(path, init, idempotencyKey);
    if (first.response.status !== 503) return first;
    const problem = (await first.response
      .clone()
      .json()
      .catch(() => ({}))) as Record<string, unknown>;
    const waitMs = startupWaitMs(problem);
    if (waitMs === undefined) return first;
    await new Promise((resolve) => setTimeout(resolve, waitMs));
    return this.#exchangeOnce(path, init, idempotencyKey);
  }

  async #exchangeOnce(
    path: string,
    init: SignedRequestInit,
    idempotencyKey: string | undefined,
  ): Promise<{ response: Response; signed: boolean }> {
    const session = this.#requireSession();
    const signed = this.#sign(path, init, idempotencyKey);
    const response = await this.#fetch(signed.url, signed.init);
    const headers = signed.init.headers as Record<string, string>;
    const request: SignableRequest = {
      method: signed.init.method as string,
      scheme: signed.url.protocol.slice(0, -1),
      authority: signed.url.host,
      target: `${signed.url.pathname}${signed.url.search}`,
      headers: fieldsFromRecord(headers),
    };
    const verified = await this.#checkResponse(response, request, session);
    return { response, signed: verified };
  }

  async #checkResponse(
    response: Response,
    request: SignableRequest,
    session: { sessionId: string; key: SignatureKey },
  ): Promise<boolean> {
    if (!response.headers.has('signature')) {
      // Only answers that never reached session verification (a bad token, say) are unsigned.
      if (response.status < 400)
        throw new RampartClientError('response_signature_invalid', 'the response is not signed');
      return false;
    }
    const body = new Uint8Array(await response.clone().arrayBuffer());
    try {
      const headers = fieldsFromRecord(response.headers as unknown as Iterable<[string, string]>);
      verifyMessage(
        { status: response.status, headers, request },
        {
          policy: {
            algorithms: ['hmac-sha256'],
            requiredComponents: ['@status', 'content-digest', `"signature";req;key="sig1"`],
            // Freshness comes from covering this request's own signature, which carries a
            // new nonce, so the time window only has to tolerate a wrong local clock.
            maxAgeSeconds: 365 * 24 * 3600,
            maxFutureSeconds: 365 * 24 * 3600,
            requireExpires: false,
            requireNonce: false,
            selector: { tag: 'rampart-response' },
          },
          resolveKey: (keyid) => (keyid === session.sessionId ? session.key : undefined),
        },
      );
      checkContentDigest(response.headers.get('content-digest') ?? '', body);
    } catch {
      throw new RampartClientError(
        'response_signature_invalid',
        'the response signature does not verify',
        response.status,
      );
    }
    return true;
  }

  // The token and signatures must never go to another origin, and a dot segment would be
  // resolved away by URL before signing, so the caller's path is taken literally or not at all.
  #resolve(path: string): URL {
    if (!path.startsWith('/') || path.startsWith('//') || /(^|\/)\.\.?(\/|\?|$)/.test(path)) {
      throw new RampartClientError(
        'path_invalid',
        `path must be an absolute path on the gateway origin without dot segments: ${JSON.stringify(path.slice(0, 100))}`,
      );
    }
    const url = new URL(path, this.#baseUrl);
    if (url.origin !== this.#baseUrl.origin) {
      throw new RampartClientError('path_invalid', 'path resolves to another origin');
    }
    return url;
  }

  #nowSeconds(): number {
    return Math.floor(this.#clock() / 1000);
  }

  #requireSession(): ClientSession & { key: SignatureKey } {
    if (this.#session === undefined)
      throw new RampartClientError('not_logged_in', 'call login() first');
    return this.#session;
  }
}

function lowercaseKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]),
  );
}

function encodeBody(body: unknown, headers: Record<string, string>): Uint8Array | undefined {
  if (body === undefined || body === null) return undefined;
  if (body instanceof Uint8Array) return body;
  if (typeof body === 'string') return new TextEncoder().encode(body);
  headers['content-type'] ??= 'application/json';
  return new TextEncoder().encode(JSON.stringify(body));
}
