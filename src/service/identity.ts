import { RampartError } from '../errors.js';

/** Name of the header that carries the caller's identity from the gateway to services. */
export const IDENTITY_HEADER = 'rampart-identity';

/** The authenticated end user on whose behalf a hop is made. */
export interface Identity {
  /** Subject: the user id. */
  sub: string;
  /** Session id. */
  sid: string;
  roles: string[];
  permissions: string[];
  /** Gateway request id, for correlating logs and audit entries. */
  requestId: string;
}

/** Encodes `identity` as the `Rampart-Identity` value: base64url of its JSON. */
export function encodeIdentity(identity: Identity): string {
  const { sub, sid, roles, permissions, requestId } = identity;
  return Buffer.from(JSON.stringify({ sub, sid, roles, permissions, requestId })).toString(
    'base64url',
  );
}

const MAX_IDENTITY_LENGTH = 8192;

/**
 * Decodes a `Rampart-Identity` value. Call it only after the hop signature that covers the
 * header has been verified: the header on its own proves nothing.
 *
 * @throws RampartError `identity_invalid` when the value is not base64url JSON of the right shape.
 */
export function decodeIdentity(value: string | undefined): Identity {
  if (
    value === undefined ||
    value.length > MAX_IDENTITY_LENGTH ||
    !/^[A-Za-z0-9_-]+$/.test(value)
  ) {
    throw new RampartError('identity_invalid');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    throw new RampartError('identity_invalid');
  }
  if (!isIdentity(parsed)) throw new RampartError('identity_invalid');
  return parsed;
}

function isIdentity(value: unknown): value is Identity {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return (
    typeof record.sub === 'string' &&
    typeof record.sid === 'string' &&
    typeof record.requestId === 'string' &&
    isStringArray(record.roles) &&
    isStringArray(record.permissions)
  );
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}
