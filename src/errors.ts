/**
 * The one registry of request errors. Each code has a fixed HTTP status and a fixed short
 * message; a code is never reused for another meaning once it has shipped. Messages never
 * contain a secret, a MAC, a token, a cookie or a whole header value.
 */
export const ERRORS = {
  // Signature headers (RFC 9421) and the body digest (RFC 9530).
  signature_missing: {
    status: 401,
    title: 'The request carries no Signature-Input and Signature.',
  },
  signature_malformed: {
    status: 400,
    title: 'Signature-Input or Signature is not a valid structured field.',
  },
  signature_params_invalid: {
    status: 401,
    title: 'A required signature parameter is missing or invalid.',
  },
  signature_coverage_insufficient: {
    status: 401,
    title: 'The signature does not cover every required component.',
  },
  signature_component_missing: {
    status: 401,
    title: 'A covered component is not present in the message.',
  },
  signature_component_unsupported: {
    status: 401,
    title: 'A covered component is not supported by this verifier.',
  },
  algorithm_unsupported: {
    status: 401,
    title: 'The signature algorithm is not allowed by this verifier.',
  },
  key_unknown: { status: 401, title: 'The signature key id is not known to this verifier.' },
  signature_invalid: { status: 401, title: 'The signature does not match the request.' },
  signature_expired: { status: 401, title: 'The signature has expired.' },
  clock_skew: { status: 401, title: 'The signature creation time is outside the accepted window.' },
  nonce_replayed: { status: 401, title: 'The signature nonce has already been used.' },
  digest_missing: { status: 400, title: 'A request with a body needs a Content-Digest field.' },
  digest_malformed: { status: 400, title: 'Content-Digest is not a valid structured field.' },
  digest_algorithm_unsupported: {
    status: 400,
    title: 'Content-Digest has no supported algorithm (sha-256 or sha-512).',
  },
  digest_mismatch: { status: 400, title: 'Content-Digest does not match the request body.' },
  digest_unexpected: {
    status: 400,
    title: 'A request without a body must not carry Content-Digest.',
  },
  signature_component_invalid: {
    status: 401,
    title: 'A covered component has a value that cannot be placed in a signature base.',
  },
  accept_signature_malformed: {
    status: 400,
    title: 'Accept-Signature is not a valid structured field of signature requests.',
  },
  want_content_digest_malformed: {
    status: 400,
    title: 'Want-Content-Digest is not a valid structured field of digest preferences.',
  },

  // Sessions.
  token_missing: { status: 401, title: 'The request carries no session token.' },
  token_invalid: { status: 401, title: 'The session token cannot be opened.' },
  token_expired: { status: 401, title: 'The session token has expired; refresh it.' },
  session_expired: {
    status: 401,
    title: 'The session has reached its absolute lifetime; log in again.',
  },
  session_revoked: { status: 401, title: 'The session has been logged out.' },
  credentials_invalid: { status: 401, title: 'The username or password is wrong.' },
  handshake_invalid: { status: 400, title: 'The login key exchange parameters are invalid.' },
  login_rate_limited: {
    status: 429,
    title: 'Too many login attempts for this account or address; wait before trying again.',
  },
  session_rate_limited: {
    status: 429,
    title: 'This session sent too many requests; wait before trying again.',
  },

  // Requests in general.
  request_malformed: { status: 400, title: 'The request is malformed.' },
  host_rejected: { status: 421, title: 'The Host is not one of the configured public origins.' },
  path_invalid: { status: 400, title: 'The request path is not in canonical form.' },
  body_too_large: { status: 413, title: 'The request body exceeds the size limit.' },
  headers_too_large: { status: 431, title: 'The request header fields are too large.' },
  media_type_unsupported: { status: 415, title: 'The request body must be application/json.' },
  idempotency_key_missing: {
    status: 400,
    title: 'An unsafe method needs an Idempotency-Key header.',
  },
  idempotency_key_conflict: {
    status: 409,
    title: 'The Idempotency-Key was already used for another request.',
  },
  origin_rejected: { status: 403, title: 'The request origin is not allowed.' },
  route_not_found: { status: 404, title: 'No route matches this method and path.' },
  permission_denied: { status: 403, title: 'The caller lacks the permission this route requires.' },
  resource_forbidden: { status: 403, title: 'The caller may not access this resource.' },
  caller_unknown: { status: 401, title: 'The calling service is not one this service accepts.' },
  identity_invalid: { status: 401, title: 'The Rampart-Identity header is missing or invalid.' },

  // Business errors a service may raise.
  insufficient_funds: { status: 422, title: 'The source account balance is too low.' },
  account_not_found: { status: 404, title: 'The account does not exist.' },
  amount_invalid: {
    status: 400,
    title: 'The amount must be a positive decimal with at most two places.',
  },

  // Infrastructure.
  upstream_unavailable: { status: 502, title: 'The upstream service could not be reached.' },
  upstream_timeout: { status: 504, title: 'The upstream service did not answer in time.' },
  upstream_error: {
    status: 502,
    title: 'The upstream service sent an error or an unreadable response.',
  },
  store_unavailable: { status: 503, title: 'A store the gateway needs is unavailable.' },
  store_full: { status: 503, title: 'The replay store is full; try again shortly.' },
  store_starting: {
    status: 503,
    title:
      'The gateway restarted and cannot yet tell new signatures from ones used before; retry after Retry-After.',
  },
  internal_error: { status: 500, title: 'An unexpected error occurred.' },
} as const satisfies Record<string, { status: number; title: string }>;

/** Stable, machine-readable error code. */
export type ErrorCode = keyof typeof ERRORS;

/** Extra problem members that are safe to send to a client. */
export interface ProblemExtensions {
  /** Server time in seconds since the epoch, sent with `clock_skew`. */
  serverTime?: number;
  /** Name of the offending field or component, never its value. */
  field?: string;
  /** Seconds to wait before retrying. */
  retryAfter?: number;
  /**
   * Development mode only: SHA-256 (hex, first 16 digits) of each line of the gateway's
   * signature base, so an SDK author can find the line that differs without seeing the base.
   */
  signatureBaseLineHashes?: string[];
  /** State of each store the gateway depends on, sent by `/readyz`; never a host or a URL. */
  stores?: Record<string, StoreStatus>;
}

/** State of one store as `/readyz` reports it. */
export interface StoreStatus {
  /** Kind of backend, such as `memory`, `redis`, `sqlite` or `postgres`. */
  backend: string;
  /** `up` when the last check succeeded, `down` when it failed or timed out. */
  state: 'up' | 'down';
}

/** A request error with a stable code, an HTTP status and a message safe to show. */
export class RampartError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly extensions: ProblemExtensions;

  constructor(code: ErrorCode, extensions: ProblemExtensions = {}) {
    super(ERRORS[code].title);
    this.name = 'RampartError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.extensions = extensions;
  }
}

/** Returns true when `value` is a Rampart request error. */
export function isRampartError(value: unknown): value is RampartError {
  return value instanceof RampartError;
}

/** RFC 9457 problem details body. */
export interface ProblemDetails extends ProblemExtensions {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  requestId?: string;
}

/** Builds the RFC 9457 body for `error`. `type` is a stable URN per code. */
export function toProblem(error: RampartError, requestId?: string): ProblemDetails {
  const problem: ProblemDetails = {
    type: `urn:rampart:problem:${error.code}`,
    title: error.message,
    status: error.status,
    code: error.code,
    ...error.extensions,
  };
  if (requestId !== undefined) problem.requestId = requestId;
  return problem;
}

/** Media type of RFC 9457 problem responses. */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
