import { RampartClientError, type ClientErrorCode } from '../client-error.js';
import { startupWaitMs } from '../startup-wait.js';
import { startHandshake } from './handshake.js';
import { readJsonObject, readProblem } from './problem.js';
import { SESSION_ENDED_CODES, UNSAFE_METHODS } from './protocol.js';
import {
  IndexedDbSessionStore,
  type BrowserSession,
  type SessionStore,
  type StoredSession,
} from './session-store.js';
import { signRequest } from './sign-request.js';
import { checkResponse, type CheckedResponse } from './verify-response.js';

/** Codes of failures the browser SDK detects itself, next to the gateway's problem codes. */
export type BrowserClientErrorCode = ClientErrorCode | 'network_error' | 'handshake_invalid';

/** Options for {@link RampartBrowserClient}. */
export interface BrowserClientOptions {
  /** Gateway origin. Default and only allowed value: the page's own origin. */
  origin?: string;
  /** Refresh the token when fewer than this many seconds remain. Default 60. */
  refreshMarginSeconds?: number;
  /** Seconds a request signature stays valid. Default 30. */
  signatureValiditySeconds?: number;
  /** Session store that keeps the session across reloads. Default: IndexedDB. */
  store?: SessionStore;
  /** Fetch implementation. Default: the global `fetch`. */
  fetch?: typeof fetch;
  /** Local clock in milliseconds. Default `Date.now`. */
  clock?: () => number;
}

/** Per-call options of {@link RampartBrowserClient.fetch}. */
export interface BrowserRequestInit {
  method?: string;
  /** JSON-serialized unless it is a string or bytes. */
  body?: unknown;
  headers?: Record<string, string>;
  /**
   * Idempotency-Key for unsafe methods. Default: a new random UUID per call. Pass the same key
   * when retrying a transfer after a network error, so that it cannot run twice.
   */
  idempotencyKey?: string;
}

/** A rejected login, with the wait the gateway requests after too many failures. */
export class LoginRejectedError extends RampartClientError {
  /** Seconds to wait before the next attempt, sent with `login_rate_limited`. */
  readonly retryAfter: number | undefined;

  constructor(code: string, status: number, retryAfter: number | undefined) {
    super(code, `login failed with status ${status}`, status);
    this.name = 'LoginRejectedError';
    this.retryAfter = retryAfter;
  }
}

// Calls go only to the page's own origin with its cookie, and a redirect is an error. The
// explicit referrer policy keeps the Origin header, which a no-referrer page policy sets to null.
const FETCH_DEFAULTS = {
  credentials: 'same-origin',
  mode: 'same-origin',
  cache: 'no-store',
  redirect: 'error',
  referrerPolicy: 'same-origin',
} as const satisfies RequestInit;

const SESSION_ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * The Rampart client for web pages served by the gateway. It logs in with the ECDH P-256
 * handshake and keeps the derived HMAC key as a non-extractable `CryptoKey` in IndexedDB, so a
 * reload keeps the session until the token expires. The session token travels only in the
 * gateway's HttpOnly cookie. Every call is signed (RFC 9421 with Content-Digest, a nonce and an
 * Idempotency-Key for unsafe methods), the gateway's response signature is checked, the clock
 * offset is learned from signed `clock_skew` responses only, and the token is refreshed before it
 * expires, once for all concurrent calls and, where Web Locks exist, once for all tabs.
 */
export class RampartBrowserClient {
  readonly #origin: string;
  readonly #fetch: typeof fetch;
  readonly #store: SessionStore;
  readonly #refreshMargin: number;
  readonly #validity: number;
  readonly #clock: () => number;
  #session: StoredSession | undefined;
  /** Last offset learned from a signed clock_skew response, kept for the next login. */
  #clockOffset = 0;
  #refreshing: Promise<void> | undefined;

  /** @throws TypeError when `origin` is not the page's origin. */
  constructor(options: BrowserClientOptions = {}) {
    const pageOrigin = globalThis.location?.origin;
    const origin = options.origin ?? pageOrigin;
    if (origin === undefined) throw new TypeError('option origin is required outside a page');
    this.#origin = new URL(origin).origin;
    if (pageOrigin !== undefined && this.#origin !== pageOrigin) {
      throw new TypeError(
        `option origin must be the page's origin ${pageOrigin}, because the session cookie is sent only there; received ${this.#origin}`,
      );
    }
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#store = options.store ?? new IndexedDbSessionStore();
    this.#refreshMargin = options.refreshMarginSeconds ?? 60;
    this.#validity = options.signatureValiditySeconds ?? 30;
    this.#clock = options.clock ?? Date.now;
  }

  /** The current session without its key, or undefined before login or restore. */
  get session(): BrowserSession | undefined {
    return this.#session === undefined ? undefined : publicView(this.#session);
  }

  /** Seconds added to the local clock to match the gateway's. */
  get clockOffset(): number {
    return this.#session?.clockOffset ?? this.#clockOffset;
  }

  /**
   * Loads the session a previous page load stored. Returns undefined when there is none.
   *
   * @throws RampartClientError `session_expired` when the stored token has expired; the stored
   *   session is removed first.
   */
  async restore(): Promise<BrowserSession | undefined> {
    const session = await this.#load();
    return session === undefined ? undefined : publicView(session);
  }

  /**
   * Logs in and derives the session key. The password goes to the gateway once; the session key
   * never travels, and the gateway responds with the token in an HttpOnly cookie.
   *
   * @throws LoginRejectedError with the gateway's code (`credentials_invalid`,
   *   `login_rate_limited` with `retryAfter`, ...) when login is rejected; RampartClientError
   *   `network_error` or `handshake_invalid`.
   */
  async login(username: string, password: string): Promise<BrowserSession> {
    const handshake = await startHandshake();
    const response = await this.#network(() =>
      this.#fetch(new URL('/auth/login', this.#origin), {
        ...FETCH_DEFAULTS,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          username,
          password,
          clientPublicKey: handshake.publicKey,
          client: 'browser',
        }),
      }),
    );
    if (response.status !== 200) {
      const problem = await readProblem(response);
      throw new LoginRejectedError(
        problem.code ?? 'login_failed',
        response.status,
        problem.retryAfter,
      );
    }

    const body = await this.#network(() => readJsonObject(response));
    const login = readLoginResponse(body);
    const key = await handshake.deriveSessionKey(
      login.serverPublicKey,
      login.salt,
      login.sessionId,
    );
    const now = this.#clock();
    const session: StoredSession = {
      origin: this.#origin,
      sessionId: login.sessionId,
      subject: login.subject,
      username: login.username,
      roles: login.roles,
      permissions: login.permissions,
      expiresAt: login.expiresAt,
      sessionExpiresAt: login.sessionExpiresAt,
      key,
      // Lifetimes are measured on the local clock from the gateway's durations, so a wrong
      // local clock neither ends the session early nor moves the signing offset.
      localExpiresAt: now + (login.expiresAt - login.serverTime) * 1000,
      localSessionExpiresAt: now + (login.sessionExpiresAt - login.serverTime) * 1000,
      clockOffset: this.#clockOffset,
    };
    await this.#store.save(session);
    this.#session = session;
    return publicView(session);
  }

  /**
   * Sends a signed request to `path` (path and query on the gateway origin) and returns the
   * checked response. Refreshes the token first when it is about to expire, and retries once,
   * with a new nonce and the same Idempotency-Key, after a signed `clock_skew` response.
   *
   * @throws RampartClientError `not_logged_in`; `session_expired` or the gateway's code
   *   (`token_expired`, `session_revoked`, ...) when the session has ended, after dropping the
   *   key; `response_signature_invalid`; `network_error`; `refresh_failed`.
   */
  async fetch(path: string, init: BrowserRequestInit = {}): Promise<Response> {
    await this.#refreshIfDue(await this.#require());
    const method = (init.method ?? 'GET').toUpperCase();
    const idempotencyKey = UNSAFE_METHODS.has(method)
      ? (init.idempotencyKey ?? globalThis.crypto.randomUUID())
      : undefined;
    return this.#send(path, { ...init, method }, idempotencyKey);
  }

  /** Renews the token now. Concurrent callers share one refresh. */
  async refresh(): Promise<void> {
    this.#refreshing ??= this.#refreshAcrossTabs().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  /**
   * Logs out: the gateway revokes the session and clears its cookie, and the key is dropped here
   * whatever the gateway responds. Returns true when the gateway confirmed the logout.
   *
   * @throws RampartClientError `network_error` when the gateway could not be reached; the key is
   *   dropped all the same.
   */
  async logout(): Promise<boolean> {
    try {
      const session = await this.#load().catch(() => undefined);
      if (session === undefined) return false;
      const response = await this.#send('/auth/logout', { method: 'POST', body: {} }, undefined);
      return response.status === 200;
    } finally {
      await this.forget();
    }
  }

  /** Drops the session key and the stored session without calling the gateway. */
  async forget(): Promise<void> {
    this.#session = undefined;
    await this.#store.clear(this.#origin);
  }

  // Reloads the stored session on every call, so a login, refresh or logout in another tab is
  // seen here too.
  async #load(): Promise<StoredSession | undefined> {
    const session = await this.#store.load(this.#origin);
    if (session === undefined) {
      this.#session = undefined;
      return undefined;
    }
    const now = this.#clock();
    if (session.localExpiresAt <= now || session.localSessionExpiresAt <= now) {
      await this.forget();
      throw new RampartClientError('session_expired', 'the session has ended; log in again');
    }
    this.#session = session;
    this.#clockOffset = session.clockOffset;
    return session;
  }

  async #require(): Promise<StoredSession> {
    const session = await this.#load();
    if (session === undefined) throw new RampartClientError('not_logged_in', 'log in first');
    return session;
  }

  async #refreshIfDue(session: StoredSession): Promise<void> {
    if (session.localExpiresAt - this.#clock() <= this.#refreshMargin * 1000) {
      await this.refresh();
    }
  }

  async #refreshAcrossTabs(): Promise<void> {
    const locks = globalThis.navigator?.locks;
    if (locks === undefined) return this.#refreshNow();
    await locks.request(`rampart-refresh ${this.#origin}`, () => this.#refreshNow());
  }

  async #refreshNow(): Promise<void> {
    const before = this.#session;
    const session = await this.#require();
    // Another tab may have refreshed while this one waited for the lock. The cookie is shared,
    // so its new token serves this tab too.
    if (before !== undefined && session.localExpiresAt > before.localExpiresAt) return;

    const response = await this.#send('/auth/refresh', { method: 'POST', body: {} }, undefined);
    const body = await this.#network(() => readJsonObject(response.clone()));
    const { expiresAt, sessionExpiresAt, serverTime } = body;
    if (
      response.status !== 200 ||
      typeof expiresAt !== 'number' ||
      typeof sessionExpiresAt !== 'number' ||
      typeof serverTime !== 'number'
    ) {
      const code = typeof body.code === 'string' ? body.code : 'refresh_failed';
      throw new RampartClientError(
        code,
        `refresh failed with status ${response.status}`,
        response.status,
      );
    }
    const now = this.#clock();
    const renewed: StoredSession = {
      ...session,
      expiresAt,
      sessionExpiresAt,
      localExpiresAt: now + (expiresAt - serverTime) * 1000,
      localSessionExpiresAt: now + (sessionExpiresAt - serverTime) * 1000,
    };
    await this.#store.save(renewed);
    this.#session = renewed;
  }

  async #send(
    path: string,
    init: BrowserRequestInit,
    idempotencyKey: string | undefined,
  ): Promise<Response> {
    let result = await this.#exchange(path, init, idempotencyKey);
    const problem = result.response.status === 401 ? await readProblem(result.response) : undefined;

    // Only a clock_skew response signed with the session key moves the clock, so a network
    // attacker cannot feed the client a false server time.
    if (result.verified && problem?.code === 'clock_skew' && problem.serverTime !== undefined) {
      await this.#learnClockOffset(problem.serverTime);
      result = await this.#exchange(path, init, idempotencyKey);
    }

    if (result.response.status === 401) {
      const code = (await readProblem(result.response)).code;
      // These responses are mostly unsigned, because the gateway could not open the token. A
      // forged one can only log the page out, which an attacker on the path can do anyway.
      if (code !== undefined && SESSION_ENDED_CODES.has(code)) {
        await this.forget();
        throw new RampartClientError(code, 'the session has ended; log in again', 401);
      }
    }
    return result.response;
  }

  // A gateway that restarted moments ago responds 503 store_starting until it can tell new
  // signatures from used ones. The request had no effect, so it is signed again with a new
  // nonce and sent once more after Retry-After, when that wait is short.
  async #exchange(
    path: string,
    init: BrowserRequestInit,
    idempotencyKey: string | undefined,
  ): Promise<CheckedResponse> {
    const first = await this.#exchangeOnce(path, init, idempotencyKey);
    if (first.response.status !== 503) return first;
    const waitMs = startupWaitMs(await readProblem(first.response));
    if (waitMs === undefined) return first;
    await new Promise((resolve) => setTimeout(resolve, waitMs));
    return this.#exchangeOnce(path, init, idempotencyKey);
  }

  async #exchangeOnce(
    path: string,
    init: BrowserRequestInit,
    idempotencyKey: string | undefined,
  ): Promise<CheckedResponse> {
    const session = await this.#require();
    const signed = await signRequest({
      origin: this.#origin,
      path,
      method: init.method ?? 'GET',
      headers: init.headers ?? {},
      body: init.body,
      idempotencyKey,
      key: session.key,
      keyid: session.sessionId,
      created: Math.floor(this.#clock() / 1000) + session.clockOffset,
      validitySeconds: this.#validity,
    });
    const response = await this.#network(() =>
      this.#fetch(signed.url, {
        ...FETCH_DEFAULTS,
        method: signed.method,
        headers: signed.headers,
        ...(signed.body === undefined ? {} : { body: signed.body }),
      }),
    );
    return this.#network(() => checkResponse(response, signed.signable, session));
  }

  async #learnClockOffset(serverTime: number): Promise<void> {
    const session = await this.#require();
    const offset = serverTime - Math.floor(this.#clock() / 1000);
    this.#clockOffset = offset;
    const updated = { ...session, clockOffset: offset };
    await this.#store.save(updated);
    this.#session = updated;
  }

  // Fetch reports an unreachable gateway, a refused redirect or a broken body as a TypeError.
  async #network<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (error instanceof RampartClientError) throw error;
      throw new RampartClientError('network_error', 'the gateway could not be reached');
    }
  }
}

function publicView(session: StoredSession): BrowserSession {
  return {
    sessionId: session.sessionId,
    subject: session.subject,
    username: session.username,
    roles: [...session.roles],
    permissions: [...session.permissions],
    expiresAt: session.expiresAt,
    sessionExpiresAt: session.sessionExpiresAt,
  };
}

interface LoginResponse {
  sessionId: string;
  serverPublicKey: string;
  salt: string;
  subject: string;
  username: string;
  roles: string[];
  permissions: string[];
  expiresAt: number;
  sessionExpiresAt: number;
  serverTime: number;
}

function readLoginResponse(body: Record<string, unknown>): LoginResponse {
  const strings = ['sessionId', 'serverPublicKey', 'salt', 'subject', 'username'] as const;
  const numbers = ['expiresAt', 'sessionExpiresAt', 'serverTime'] as const;
  const valid =
    strings.every((name) => typeof body[name] === 'string') &&
    numbers.every((name) => Number.isInteger(body[name])) &&
    isStringArray(body.roles) &&
    isStringArray(body.permissions) &&
    SESSION_ID.test(body.sessionId as string);
  if (!valid) {
    throw new RampartClientError(
      'login_failed',
      'the login response from the gateway is invalid',
      200,
    );
  }
  return body as unknown as LoginResponse;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}
