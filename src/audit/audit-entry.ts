/**
 * A store of audit entries that a gateway writes every decision to. Implementations keep the
 * entries hash-chained, so a changed, removed or reordered entry is detectable later.
 */
export interface AuditLog {
  /**
   * Appends one entry and resolves once it is durable, so the caller may respond to the request.
   * Rejects with `RampartError` `store_unavailable` when the store cannot record the entry,
   * and with a `TypeError` when `input` is invalid.
   */
  append(input: AuditEntryInput): Promise<AuditEntry>;

  /** Resolves when the store is reachable. Rejects with `RampartError` `store_unavailable` otherwise. */
  ping(): Promise<void>;

  /** Flushes pending work (such as a final checkpoint) and releases the store. */
  close(): Promise<void>;
}

/** Kind of event an audit entry records. */
export type AuditEvent = 'request' | 'login' | 'refresh' | 'logout';

/**
 * Result of the event: `allowed` or `rejected` for a gateway decision on a request, `success`
 * or `failure` for a login, refresh or logout.
 */
export type AuditOutcome = 'allowed' | 'rejected' | 'success' | 'failure';

/** Every event kind an audit entry may record. */
export const AUDIT_EVENTS: readonly AuditEvent[] = ['request', 'login', 'refresh', 'logout'];

/** Every outcome an audit entry may have. */
export const AUDIT_OUTCOMES: readonly AuditOutcome[] = [
  'allowed',
  'rejected',
  'success',
  'failure',
];

/**
 * Fields of one audit event as the gateway reports it. Together with the time the store adds,
 * they cover PCI DSS 4.0 requirement 10.2.2: who (`subject`, `sessionId`), what (`event`,
 * `method`, `path`, `bodyDigest`), when, success or failure (`outcome`, `code`), where from
 * (`clientAddress`) and the affected resource (`service`, `path`).
 *
 * No field may contain a request body, a token, a cookie, a key or a signature.
 */
export interface AuditEntryInput {
  /** Kind of event. */
  event: AuditEvent;
  /** Result of the event. */
  outcome: AuditOutcome;
  /** Reason code from the error registry, such as `nonce_replayed`, for a rejection or failure. */
  code?: string;
  /** Authenticated user, or the claimed username of a failed login. */
  subject?: string;
  /** Session id, which is also the signature `keyid`. */
  sessionId?: string;
  /** Request id the gateway assigned. */
  requestId?: string;
  /** HTTP method of the request. */
  method?: string;
  /** Request path, without the query. */
  path?: string;
  /** `Content-Digest` field value of the request (RFC 9530), never the body itself. */
  bodyDigest?: string;
  /** IP address of the client. */
  clientAddress?: string;
  /** Name of the upstream service the route maps to. */
  service?: string;
  /** HTTP status of the upstream response. */
  upstreamStatus?: number;
  /** Time in milliseconds from receiving the request to sending the response. */
  latencyMs?: number;
}

/** An audit entry as stored: the input plus its position, time and place in the hash chain. */
export interface AuditEntry extends AuditEntryInput {
  /** Position in the chain, starting at 1 with no gaps. */
  seq: number;
  /** Time the store recorded the entry, as ISO 8601 in UTC with milliseconds. */
  time: string;
  /** `hash` of the entry at `seq - 1`, or 64 zeros for the first entry. */
  prevHash: string;
  /** SHA-256 of the entry's canonical serialization, as lowercase hex. */
  hash: string;
}

const STRING_FIELDS = [
  'code',
  'subject',
  'sessionId',
  'requestId',
  'method',
  'path',
  'bodyDigest',
  'clientAddress',
  'service',
] as const satisfies readonly (keyof AuditEntryInput)[];

/**
 * Validates `input` and returns a copy that contains only the known fields, without the ones
 * that are `undefined`. Stores call it before hashing, so an extra property a caller passes
 * (such as a body) is never stored. Throws a `TypeError` that names the invalid field.
 */
export function normalizeAuditEntryInput(input: AuditEntryInput): AuditEntryInput {
  if (!AUDIT_EVENTS.includes(input.event)) {
    throw new TypeError(
      `Audit entry field "event" must be one of ${AUDIT_EVENTS.join(', ')}; received ${describe(input.event)}.`,
    );
  }

  if (!AUDIT_OUTCOMES.includes(input.outcome)) {
    throw new TypeError(
      `Audit entry field "outcome" must be one of ${AUDIT_OUTCOMES.join(', ')}; received ${describe(input.outcome)}.`,
    );
  }

  const normalized: AuditEntryInput = { event: input.event, outcome: input.outcome };
  for (const field of STRING_FIELDS) {
    const value: unknown = input[field];
    if (value === undefined) continue;
    if (typeof value !== 'string') {
      throw new TypeError(
        `Audit entry field "${field}" must be a string; received ${typeof value}.`,
      );
    }
    normalized[field] = value;
  }

  const { upstreamStatus, latencyMs } = input;
  if (upstreamStatus !== undefined) {
    if (!Number.isInteger(upstreamStatus) || upstreamStatus < 100 || upstreamStatus > 599) {
      throw new TypeError(
        `Audit entry field "upstreamStatus" must be an integer HTTP status from 100 to 599; received ${describe(upstreamStatus)}.`,
      );
    }
    normalized.upstreamStatus = upstreamStatus;
  }

  if (latencyMs !== undefined) {
    if (typeof latencyMs !== 'number' || !Number.isFinite(latencyMs) || latencyMs < 0) {
      throw new TypeError(
        `Audit entry field "latencyMs" must be a finite number of milliseconds, 0 or more; received ${describe(latencyMs)}.`,
      );
    }
    normalized.latencyMs = latencyMs;
  }

  return normalized;
}

/** Describes a rejected value without echoing long strings. */
function describe(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string' && value.length <= 32) return JSON.stringify(value);
  return typeof value;
}
