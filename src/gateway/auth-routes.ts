import { createHash, randomBytes } from 'node:crypto';

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import { RampartError } from '../errors.js';
import { StoreUnavailableError } from '../replay/replay-store.js';
import { acceptHandshake } from '../session/handshake.js';
import { verifyPassword } from '../session/password.js';
import { sealSessionToken, type SessionClaims } from '../session/session-token.js';
import { auditFields, recordAudit, type RequestState } from './audit-events.js';
import { SESSION_COOKIE } from './authenticate.js';
import type { GatewayContext } from './gateway-context.js';
import { sendWithSignature } from './response-signature.js';

/** Body of `POST /auth/login`. */
interface LoginRequest {
  username: string;
  password: string;
  /** Client's ephemeral P-256 public key, uncompressed point, base64url. */
  clientPublicKey: string;
  /** `browser` receives the token in a cookie, `native` in the body. Default `native`. */
  client: 'browser' | 'native';
}

/**
 * Registers `POST /auth/login`, `POST /auth/refresh` and `POST /auth/logout`. Refresh and logout
 * go through the same signature checks as API calls (see the `signed` hooks passed in).
 */
export function registerAuthRoutes(
  fastify: FastifyInstance,
  context: GatewayContext,
  signed: {
    onRequest: (request: FastifyRequest) => Promise<void>;
    preHandler: (request: FastifyRequest) => Promise<void>;
  },
  state: (request: FastifyRequest) => RequestState,
): void {
  fastify.post('/auth/login', async (request, reply) => {
    const requestState = state(request);
    requestState.event = 'login';
    const login = parseLogin(request.body);
    // Until the user is known, the audit trail gets a hash of the typed name: people type
    // passwords into the username field, and the trail must never hold a password.
    requestState.subject = `unknown:${createHash('sha256').update(login.username).digest('hex').slice(0, 16)}`;

    const origin = request.headers.origin;
    if (
      origin !== undefined &&
      !context.origins().some((candidate) => candidate.origin === origin)
    ) {
      throw new RampartError('origin_rejected');
    }
    // The attempt is counted before anything else can fail, so a burst of guesses cannot pass
    // the limit before the first of them has been judged.
    const address = requestState.clientAddress;
    await withStore(context, () => context.loginLimiter.begin(login.username, address));

    const sessionId = randomBytes(16).toString('base64url');
    // The key exchange is checked before the password, so a malformed one costs no argon2 run.
    const handshake = acceptHandshake(login.clientPublicKey, sessionId);

    let user;
    try {
      user = await context.userStore.findByUsername(login.username);
      if (user !== undefined) requestState.subject = user.id;
    } catch (error) {
      context.logger.error({ err: error }, 'user store failed');
      throw new RampartError('store_unavailable');
    }
    const valid = await verifyPassword(user?.passwordHash, login.password);
    if (user === undefined || !valid) throw new RampartError('credentials_invalid');
    await withStore(context, () => context.loginLimiter.succeeded(login.username, address));

    const now = Math.floor(Date.now() / 1000);
    const claims: SessionClaims = {
      sid: sessionId,
      sub: user.id,
      roles: user.roles,
      permissions: permissionsFor(context, user.roles),
      iat: now,
      exp: now + context.config.tokenTtlSeconds,
      sexp: now + context.config.sessionTtlSeconds,
      key: handshake.sessionKey.toString('base64url'),
    };
    const token = await sealSessionToken(claims, context.keys.tokens);
    requestState.subject = user.id;
    requestState.sessionId = sessionId;
    await recordAudit(context, auditFields(request, requestState, { outcome: 'success' }));

    if (login.client === 'browser')
      setSessionCookie(reply, token, context.config.sessionTtlSeconds);
    const body = {
      sessionId,
      serverPublicKey: handshake.serverPublicKey,
      salt: handshake.salt,
      subject: user.id,
      username: user.username,
      roles: claims.roles,
      permissions: claims.permissions,
      expiresAt: claims.exp,
      sessionExpiresAt: claims.sexp,
      serverTime: now,
      ...(login.client === 'native' ? { token } : {}),
    };
    return reply.code(200).header('cache-control', 'no-store').send(body);
  });

  fastify.post(
    '/auth/refresh',
    { onRequest: signed.onRequest, preHandler: signed.preHandler },
    async (request, reply) => {
      const requestState = state(request);
      const auth = requestState.auth;
      const claims = auth?.claims;
      if (claims === undefined) throw new RampartError('token_missing');

      const now = Math.floor(Date.now() / 1000);
      const renewed: SessionClaims = {
        ...claims,
        iat: now,
        exp: Math.min(now + context.config.tokenTtlSeconds, claims.sexp),
      };
      const token = await sealSessionToken(renewed, context.keys.tokens);
      await recordAudit(context, auditFields(request, requestState, { outcome: 'success' }));

      if (auth?.tokenSource === 'cookie') setSessionCookie(reply, token, claims.sexp - now);
      const body = {
        expiresAt: renewed.exp,
        sessionExpiresAt: renewed.sexp,
        serverTime: now,
        ...(auth?.tokenSource === 'authorization' ? { token } : {}),
      };
      reply.header('cache-control', 'no-store');
      return sendWithSignature(
        reply,
        auth,
        200,
        'application/json',
        Buffer.from(JSON.stringify(body)),
      );
    },
  );

  fastify.post(
    '/auth/logout',
    { onRequest: signed.onRequest, preHandler: signed.preHandler },
    async (request, reply) => {
      const requestState = state(request);
      const auth = requestState.auth;
      const claims = auth?.claims;
      if (claims === undefined) throw new RampartError('token_missing');

      // Every token of this session expires within one token lifetime from now, and refresh
      // accepts it for the grace period after that, so the revocation must outlast both (but
      // never the session itself).
      const now = Math.floor(Date.now() / 1000);
      const { tokenTtlSeconds, refreshGraceSeconds } = context.config;
      const until = Math.min(claims.sexp, now + tokenTtlSeconds + refreshGraceSeconds);
      try {
        await context.replayStore.revokeSession(claims.sid, until);
      } catch (error) {
        context.logger.error({ err: error }, 'replay store failed during logout');
        throw new RampartError('store_unavailable');
      }
      await recordAudit(context, auditFields(request, requestState, { outcome: 'success' }));

      if (auth?.tokenSource === 'cookie') {
        reply.clearCookie(SESSION_COOKIE, {
          path: '/',
          secure: true,
          httpOnly: true,
          sameSite: 'strict',
        });
      }
      return sendWithSignature(
        reply,
        auth,
        200,
        'application/json',
        Buffer.from(JSON.stringify({ loggedOut: true })),
      );
    },
  );
}

function setSessionCookie(reply: FastifyReply, token: string, maxAgeSeconds: number): void {
  reply.setCookie(SESSION_COOKIE, token, {
    path: '/',
    secure: true,
    httpOnly: true,
    sameSite: 'strict',
    maxAge: maxAgeSeconds,
  });
}

function permissionsFor(context: GatewayContext, roles: readonly string[]): string[] {
  const permissions = new Set<string>();
  for (const role of roles) {
    for (const permission of context.config.roles[role] ?? []) permissions.add(permission);
  }
  return [...permissions].sort();
}

function parseLogin(raw: unknown): LoginRequest {
  let body: unknown = raw;
  if (Buffer.isBuffer(raw)) {
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new RampartError('request_malformed');
    }
  }
  if (typeof body !== 'object' || body === null) throw new RampartError('request_malformed');
  const {
    username,
    password,
    clientPublicKey,
    client = 'native',
  } = body as Record<string, unknown>;
  if (typeof username !== 'string' || username.length === 0 || username.length > 128) {
    throw new RampartError('request_malformed', { field: 'username' });
  }
  if (typeof password !== 'string' || password.length === 0 || password.length > 1024) {
    throw new RampartError('request_malformed', { field: 'password' });
  }
  if (typeof clientPublicKey !== 'string')
    throw new RampartError('handshake_invalid', { field: 'clientPublicKey' });
  if (client !== 'browser' && client !== 'native')
    throw new RampartError('request_malformed', { field: 'client' });
  return { username, password, clientPublicKey, client };
}

/** Runs a rate-limit store call; a store failure becomes 503 `store_unavailable`. */
async function withStore(context: GatewayContext, call: () => Promise<void>): Promise<void> {
  try {
    await call();
  } catch (error) {
    if (!(error instanceof StoreUnavailableError)) throw error;
    context.logger.error({ err: error, reason: error.reason }, 'rate-limit store failed');
    throw new RampartError(error.reason === 'full' ? 'store_full' : 'store_unavailable');
  }
}
