import '@fastify/cookie';
import { createHash } from 'node:crypto';

import type { FastifyRequest } from 'fastify';

import { RampartError } from '../errors.js';
import type { Admission } from '../replay/rate-limit-store.js';
import { StoreUnavailableError } from '../replay/replay-store.js';
import type { SessionClaims } from '../session/session-token.js';
import type { SignatureKey } from '../signature/algorithms.js';
import { checkContentDigest } from '../signature/content-digest.js';
import { combinedFieldValue, type SignableRequest } from '../signature/message.js';
import { buildSignatureBase } from '../signature/signature-base.js';
import { parseSignature, type ParsedSignature } from '../signature/signature-input.js';
import { checkParsedSignature, checkSignatureParams } from '../signature/verify.js';
import {
  clientPolicy,
  requestHasBody,
  resolveOrigin,
  signableRequest,
  UNSAFE_METHODS,
} from './client-signature.js';
import type { GatewayContext } from './gateway-context.js';

/** Name of the session cookie; the `__Host-` prefix pins it to this origin, path `/`, Secure. */
export const SESSION_COOKIE = '__Host-rampart-session';

/** Authentication state of one request, kept on the request between hooks. */
export interface RequestAuthentication {
  origin: URL;
  signable: SignableRequest;
  signature?: ParsedSignature;
  claims?: SessionClaims;
  /** The session key, once the token is open; responses are signed with it. */
  sessionKey?: SignatureKey;
  /** True once the MAC, digest and nonce checks have all passed. */
  verified: boolean;
  tokenSource?: 'authorization' | 'cookie';
}

/**
 * First stage, before the body is read: origin, signature parameters, time window and coverage,
 * then the token and its revocation. Nothing here writes state, and the revocation lookup runs
 * only for a request whose signature parameters and time window already passed.
 *
 * @throws RampartError with the code of the first failed check.
 */
export async function authenticateHeaders(
  request: FastifyRequest,
  context: GatewayContext,
  auth: RequestAuthentication,
  options: { requireIdempotencyKey: boolean; refreshGraceSeconds?: number },
): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  const hasBody = requestHasBody(request);
  const needsIdempotencyKey = options.requireIdempotencyKey && UNSAFE_METHODS.has(request.method);

  const policy = clientPolicy(context.config, { hasBody, needsIdempotencyKey });
  const parsed = parseSignature(auth.signable.headers, policy.selector);
  auth.signature = parsed;

  // Checked after the signature is found, so an unsigned call always gets signature_missing,
  // and before coverage, so a missing key gets its own code.
  if (needsIdempotencyKey) {
    const key = combinedFieldValue(auth.signable.headers, 'idempotency-key');
    if (key === undefined) throw new RampartError('idempotency_key_missing');
    // 128 characters leave room for the per-user prefix a service adds when it passes the key on.
    if (!/^[\x21-\x7e]{1,128}$/.test(key))
      throw new RampartError('request_malformed', { field: 'idempotency-key' });
  }

  try {
    checkSignatureParams(parsed, policy, now);
  } catch (error) {
    // The clock_skew answer is signed with the session key when the token opens, so that a
    // network attacker cannot feed the client a false server time.
    if (error instanceof RampartError && error.code === 'clock_skew')
      openTokenQuietly(request, context, auth, now, options.refreshGraceSeconds ?? 0);
    throw error;
  }

  // An in-process store keeps nonces in memory only, so a restart loses them. The process
  // before it accepted signatures created up to maxFutureSeconds after its last active second,
  // and any of those may already have been used. Until this clock passes that point, a fresh
  // signature cannot be told from an old one, so the gateway responds 503 store_starting. After
  // it, the client signs again after the signed clock_skew response.
  const historyStart = context.replayStore.nonceHistoryStart;
  if (historyStart !== undefined) {
    const firstUnseenCreated = historyStart + context.config.signature.maxFutureSeconds;
    if ((parsed.params.created ?? 0) < firstUnseenCreated) {
      if (now < firstUnseenCreated)
        throw new RampartError('store_starting', { retryAfter: firstUnseenCreated - now });
      openTokenQuietly(request, context, auth, now, options.refreshGraceSeconds ?? 0);
      throw new RampartError('clock_skew', { serverTime: now });
    }
  }

  const claims = openToken(request, context, auth, now, options.refreshGraceSeconds ?? 0);
  if (claims.sid !== parsed.params.keyid) throw new RampartError('key_unknown');

  let revoked: boolean;
  try {
    revoked = await context.replayStore.isSessionRevoked(claims.sid);
  } catch (error) {
    throw storeError(error, context);
  }
  if (revoked) throw new RampartError('session_revoked');
}

/**
 * Second stage, once the body is read: the MAC over the signature base, the body digest, then
 * the nonce. The nonce is claimed last, so only authenticated requests reach the replay store.
 *
 * @throws RampartError `signature_invalid`, a `digest_*` code, `nonce_replayed` or `store_unavailable`.
 */
export async function authenticateBody(
  request: FastifyRequest,
  context: GatewayContext,
  auth: RequestAuthentication,
  body: Buffer | undefined,
): Promise<void> {
  const { signature, claims, sessionKey } = auth;
  if (signature === undefined || claims === undefined || sessionKey === undefined) {
    throw new RampartError('signature_missing');
  }

  try {
    checkParsedSignature(auth.signable, signature, sessionKey);
  } catch (error) {
    if (
      error instanceof RampartError &&
      error.code === 'signature_invalid' &&
      context.config.mode === 'development'
    ) {
      throw new RampartError('signature_invalid', {
        signatureBaseLineHashes: baseLineHashes(auth.signable, signature),
      });
    }
    throw error;
  }

  const digest = combinedFieldValue(auth.signable.headers, 'content-digest');
  const hasContent = requestHasBody(request);
  // Fastify never reads a GET or HEAD body, so content there cannot be checked.
  if (hasContent && body === undefined)
    throw new RampartError('request_malformed', { field: 'content-length' });
  if (hasContent) {
    if (digest === undefined) throw new RampartError('digest_missing');
    checkContentDigest(digest, body ?? EMPTY_BODY);
  } else if (digest !== undefined) {
    checkContentDigest(digest, EMPTY_BODY);
  }

  const { maxAgeSeconds, maxFutureSeconds } = context.config.signature;
  const { maxRequests, windowSeconds } = context.config.sessionRateLimit;
  let admission: Admission;
  try {
    // Remember the nonce for as long as any signature that carries it could still pass the
    // time window: created may be maxFuture ahead and is accepted until maxAge old. The
    // session's request count goes in the same store call, one round trip on Redis, and only
    // authenticated requests reach it, so unauthenticated traffic cannot use up a session's
    // allowance.
    admission = await context.replayStore.admitRequest({
      scope: claims.sid,
      nonce: signature.params.nonce as string,
      nonceTtlSeconds: maxAgeSeconds + maxFutureSeconds + 1,
      ...(maxRequests > 0
        ? { rateLimit: { key: `session:${claims.sid}`, maxRequests, windowSeconds } }
        : {}),
    });
  } catch (error) {
    throw storeError(error, context);
  }
  if (admission.outcome === 'replayed') throw new RampartError('nonce_replayed');
  if (admission.outcome === 'rate_limited') {
    throw new RampartError('session_rate_limited', { retryAfter: admission.retryAfterSeconds });
  }

  if (auth.tokenSource === 'cookie' && UNSAFE_METHODS.has(request.method))
    checkOrigin(request, context);
  auth.verified = true;
}

function baseLineHashes(signable: SignableRequest, signature: ParsedSignature): string[] {
  const base = buildSignatureBase(signable, signature.components, signature.rawParams);
  return base
    .split('\n')
    .map((line) => createHash('sha256').update(line).digest('hex').slice(0, 16));
}

const EMPTY_BODY = Buffer.alloc(0);

// Fields that must appear once. Node keeps only the first Host, Authorization or Content-Type
// line, so a second line could make the gateway and a later hop read different values.
const SINGLE_FIELDS = new Set([
  'host',
  'authorization',
  'content-type',
  'idempotency-key',
  'origin',
  'cookie',
]);

function rejectRepeatedFields(rawHeaders: readonly string[]): void {
  const seen = new Set<string>();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] as string).toLowerCase();
    if (!SINGLE_FIELDS.has(name)) continue;
    if (seen.has(name)) throw new RampartError('request_malformed', { field: name });
    seen.add(name);
  }
}

/** Starts the authentication state for `request`; rejects a Host that is not configured. */
export function beginAuthentication(
  request: FastifyRequest,
  context: GatewayContext,
): RequestAuthentication {
  rejectRepeatedFields(request.raw.rawHeaders);
  const origin = resolveOrigin(request, context.origins(), context.config.trustedProxies);
  return { origin, signable: signableRequest(request, origin), verified: false };
}

function readToken(request: FastifyRequest, auth: RequestAuthentication): string {
  const authorization = request.headers.authorization;
  if (authorization !== undefined) {
    // The token's syntax is checked when it is decrypted, and a cached token passed that check.
    if (!authorization.startsWith('Bearer ')) throw new RampartError('token_invalid');
    auth.tokenSource = 'authorization';
    return authorization.slice(7);
  }
  const cookie = request.cookies?.[SESSION_COOKIE];
  if (cookie === undefined || cookie === '') throw new RampartError('token_missing');
  auth.tokenSource = 'cookie';
  return cookie;
}

function openToken(
  request: FastifyRequest,
  context: GatewayContext,
  auth: RequestAuthentication,
  now: number,
  expiredGraceSeconds = 0,
): SessionClaims {
  const opened = context.tokenCache.open(
    readToken(request, auth),
    context.keys.tokens,
    now,
    expiredGraceSeconds,
  );
  auth.claims = opened.claims;
  auth.sessionKey = opened.sessionKey;
  return opened.claims;
}

function openTokenQuietly(
  request: FastifyRequest,
  context: GatewayContext,
  auth: RequestAuthentication,
  now: number,
  expiredGraceSeconds: number,
): void {
  try {
    openToken(request, context, auth, now, expiredGraceSeconds);
  } catch {
    // Without an open token the answer goes out unsigned; the client then ignores its time.
  }
}

// Cookie-authenticated state changes also need a same-origin Origin header: a cross-site page
// cannot sign anyway, so this is defence in depth against CSRF.
function checkOrigin(request: FastifyRequest, context: GatewayContext): void {
  const origin = request.headers.origin;
  const allowed = context.origins().some((candidate) => candidate.origin === origin);
  const site = request.headers['sec-fetch-site'];
  if (!allowed || (site !== undefined && site !== 'same-origin'))
    throw new RampartError('origin_rejected');
}

function storeError(error: unknown, context: GatewayContext): RampartError {
  if (error instanceof StoreUnavailableError) {
    context.logger.error({ reason: error.reason }, 'replay store unavailable');
    return new RampartError(error.reason === 'full' ? 'store_full' : 'store_unavailable');
  }
  context.logger.error({ err: error }, 'replay store failed');
  return new RampartError('store_unavailable');
}
