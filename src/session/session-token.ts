import { CompactEncrypt, compactDecrypt, decodeProtectedHeader } from 'jose';

import { RampartError } from '../errors.js';
import type { TokenKeyRing } from './key-file.js';

/** What a session token carries. Times are seconds since the epoch. */
export interface SessionClaims {
  /** Session id; also the signature `keyid`. */
  sid: string;
  /** Subject: the user id. */
  sub: string;
  roles: string[];
  permissions: string[];
  /** Issued at. */
  iat: number;
  /** Token expiry. */
  exp: number;
  /** Absolute session expiry; refresh never extends past it. */
  sexp: number;
  /** The 32-byte session key, base64url. The token is encrypted, so only gateways read it. */
  key: string;
}

const TOKEN_VERSION = 1;
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();
// Compact JWE with dir and A256GCM is five base64url parts; anything far longer is not ours.
const MAX_TOKEN_LENGTH = 8192;

/** Seals `claims` as a compact JWE (`dir`, `A256GCM`) with the key ring's current key. */
export async function sealSessionToken(claims: SessionClaims, ring: TokenKeyRing): Promise<string> {
  const current = ring.current;
  const payload = textEncoder.encode(JSON.stringify({ v: TOKEN_VERSION, ...claims }));
  return new CompactEncrypt(payload)
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: current.kid })
    .encrypt(current.key);
}

/**
 * Opens a session token: finds the key by `kid`, decrypts with only `dir`/`A256GCM` allowed, and
 * checks the claims' shape and both expiries against `nowSeconds`.
 *
 * @throws RampartError `token_invalid`, `token_expired` or `session_expired`.
 */
export async function openSessionToken(
  token: string,
  ring: TokenKeyRing,
  nowSeconds: number,
): Promise<SessionClaims> {
  if (token.length > MAX_TOKEN_LENGTH || !/^[A-Za-z0-9_.-]+$/.test(token)) {
    throw new RampartError('token_invalid');
  }
  let kid: unknown;
  try {
    kid = decodeProtectedHeader(token).kid;
  } catch {
    throw new RampartError('token_invalid');
  }
  const key = typeof kid === 'string' ? ring.byKid.get(kid) : undefined;
  if (key === undefined) throw new RampartError('token_invalid');

  let claims: unknown;
  try {
    const { plaintext } = await compactDecrypt(token, key, {
      keyManagementAlgorithms: ['dir'],
      contentEncryptionAlgorithms: ['A256GCM'],
    });
    claims = JSON.parse(textDecoder.decode(plaintext));
  } catch {
    throw new RampartError('token_invalid');
  }
  if (!isClaims(claims)) throw new RampartError('token_invalid');

  if (claims.sexp <= nowSeconds) throw new RampartError('session_expired');
  if (claims.exp <= nowSeconds) throw new RampartError('token_expired');
  return claims;
}

function isClaims(value: unknown): value is SessionClaims {
  if (typeof value !== 'object' || value === null) return false;
  const c = value as Record<string, unknown>;
  return (
    c.v === TOKEN_VERSION &&
    typeof c.sid === 'string' &&
    typeof c.sub === 'string' &&
    typeof c.key === 'string' &&
    Array.isArray(c.roles) &&
    c.roles.every((role) => typeof role === 'string') &&
    Array.isArray(c.permissions) &&
    c.permissions.every((permission) => typeof permission === 'string') &&
    Number.isInteger(c.iat) &&
    Number.isInteger(c.exp) &&
    Number.isInteger(c.sexp)
  );
}
