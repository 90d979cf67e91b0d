import { randomUUID } from 'node:crypto';

import cookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import { RampartError } from '../errors.js';
import { auditFields, recordAudit, type RequestState } from './audit-events.js';
import { authenticateBody, authenticateHeaders, beginAuthentication } from './authenticate.js';
import { registerAuthRoutes } from './auth-routes.js';
import { UNSAFE_METHODS } from './client-signature.js';
import { forwardRequest, sanitizeUpstreamError, type Upstream } from './forward.js';
import type { GatewayContext } from './gateway-context.js';
import { assertCanonicalTarget } from './path-guard.js';
import { problemBody, toRampartError } from './problem.js';
import { sendWithSignature } from './response-signature.js';
import { clientAddress, normalizeAddress } from './trusted-proxy.js';

declare module 'fastify' {
  interface FastifyRequest {
    rampart: RequestState | null;
  }
}

const API_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/**
 * Registers the gateway on a Fastify instance: `/auth/*`, `/healthz`, `/readyz`, and a catch-all
 * route that verifies, authorizes and forwards the configured API routes. A team may add its own
 * routes next to it; they are not signature-checked unless they use the same hooks.
 */
export async function rampartGateway(
  fastify: FastifyInstance,
  context: GatewayContext & { upstreams: Map<string, Upstream> },
): Promise<void> {
  await fastify.register(cookie);
  fastify.decorateRequest('rampart', null);

  // Bodies stay raw bytes: the digest is checked over exactly what arrived, and the same
  // bytes are forwarded.
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) =>
    done(null, body),
  );

  // The global hooks do no I/O, so they take a callback, because an async hook costs every
  // request a promise and a microtask turn. Fastify turns an exception thrown here into an
  // error reply.
  fastify.addHook('onRequest', (request, _reply, done) => {
    request.rampart = {
      requestId: randomUUID(),
      startedAt: Date.now(),
      event: 'request',
      clientAddress: clientAddress(request, context.config.trustedProxies),
    };
    assertCanonicalTarget(request.url);
    done();
  });

  const state = (request: FastifyRequest): RequestState => request.rampart as RequestState;
  const signedRoute = (options: {
    requireIdempotencyKey: boolean;
    refreshGraceSeconds?: number;
  }) => ({
    onRequest: async (request: FastifyRequest) => {
      const requestState = state(request);
      const routeUrl = request.routeOptions.url;
      if (routeUrl === '/auth/refresh') requestState.event = 'refresh';
      if (routeUrl === '/auth/logout') requestState.event = 'logout';
      requestState.auth = beginAuthentication(request, context);
      await authenticateHeaders(request, context, requestState.auth, options);
    },
    preHandler: async (request: FastifyRequest) => {
      const auth = state(request).auth;
      if (auth === undefined) throw new RampartError('signature_missing');
      await authenticateBody(request, context, auth, request.body as Buffer | undefined);
    },
  });

  fastify.setErrorHandler(async (error, request, reply) =>
    sendRejection(context, error, request, reply),
  );
  fastify.setNotFoundHandler(async (request, reply) =>
    sendRejection(context, new RampartError('route_not_found'), request, reply),
  );

  fastify.get('/healthz', async () => ({ status: 'ok' }));
  fastify.get('/readyz', async (request, reply) => {
    const stores = await context.health.check();
    if (Object.values(stores).every((store) => store.state === 'up')) {
      return reply.send({ status: 'ready', stores });
    }
    // Sent here rather than thrown, so a load balancer polling during an outage does not
    // add a rejection to the audit trail every few seconds.
    const requestId = state(request).requestId;
    reply.header('rampart-request-id', requestId);
    const problem = problemBody(
      reply,
      new RampartError('store_unavailable', { stores }),
      requestId,
    );
    // A Buffer keeps Fastify from adding a charset, as for every other problem response.
    return reply.send(Buffer.from(problem));
  });
  registerMetricsRoute(fastify, context);
  // Account data and problems must not be cached by a browser or a shared proxy, nor sniffed.
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    reply.header('x-content-type-options', 'nosniff');
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    done(null, payload);
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url;
    if (route !== '/healthz' && route !== '/readyz' && route !== '/metrics') {
      context.metrics.requestDuration(request.method, reply.statusCode, reply.elapsedTime / 1000);
      const code = context.metrics.rejectionCode(request);
      context.metrics.decision(code === undefined ? 'allowed' : 'rejected', code);
    }
    done();
  });

  // Refresh and logout accept a token that expired within the grace period, so a client that
  // was idle for less than that keeps its session; API routes never do.
  const sessionRoutes = signedRoute({
    requireIdempotencyKey: false,
    refreshGraceSeconds: context.config.refreshGraceSeconds,
  });
  registerAuthRoutes(fastify, context, sessionRoutes, state);

  const api = signedRoute({ requireIdempotencyKey: true });
  fastify.route({
    method: [...API_METHODS],
    url: '/*',
    bodyLimit: context.config.bodyLimitBytes,
    onRequest: async (request) => {
      const queryStart = request.url.indexOf('?');
      const path = queryStart === -1 ? request.url : request.url.slice(0, queryStart);
      const route = context.routes.match(request.method, path);
      if (route === undefined) throw new RampartError('route_not_found');
      state(request).service = route.service;
      state(request).permission = route.permission;
      await api.onRequest(request);
    },
    preHandler: async (request) => {
      await api.preHandler(request);
      // The route matched in onRequest; its permission is checked only now, after the nonce.
      const requestState = state(request);
      const permissions = requestState.auth?.claims?.permissions ?? [];
      const permission = requestState.permission;
      if (permission === undefined || !permissions.includes(permission)) {
        throw new RampartError('permission_denied');
      }
    },
    handler: async (request, reply) => forward(context, request, reply),
  });
}

async function forward(
  context: GatewayContext & { upstreams: Map<string, Upstream> },
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const requestState = request.rampart as RequestState;
  const auth = requestState.auth;
  const upstream = context.upstreams.get(requestState.service ?? '');
  if (auth?.claims === undefined || upstream === undefined)
    throw new RampartError('internal_error');

  // The audit store failed and has not responded since: a call forwarded now could not be
  // recorded, so nothing is forwarded until the background check sees the store back.
  if (context.health.isDown('audit')) throw new RampartError('store_unavailable');

  // A state change is recorded as allowed before it is forwarded: if the audit store cannot
  // take the entry, nothing moves.
  if (UNSAFE_METHODS.has(request.method)) {
    await recordAudit(context, auditFields(request, requestState, { outcome: 'allowed' }));
  }

  const upstreamResponse = await forwardRequest({
    upstream,
    method: request.method,
    target: request.url,
    clientHeaders: request.headers,
    body: request.body as Buffer | undefined,
    claims: auth.claims,
    requestId: requestState.requestId,
    timeoutMs: context.config.upstreamTimeoutMs,
  });
  if (upstreamResponse.status >= 500) {
    context.logger.warn(
      {
        requestId: requestState.requestId,
        service: upstream.name,
        status: upstreamResponse.status,
      },
      'upstream answered with a server error',
    );
  }
  const response = sanitizeUpstreamError(upstreamResponse, requestState.requestId);

  const completion = auditFields(request, requestState, {
    outcome: 'allowed',
    upstreamStatus: upstreamResponse.status,
  });
  if (UNSAFE_METHODS.has(request.method)) {
    // The service has already acted and the decision entry is durable, so a failed completion
    // entry is logged rather than turned into an error that would hide the result.
    await recordAudit(context, completion).catch(() => undefined);
  } else {
    await recordAudit(context, completion);
  }

  for (const [name, value] of Object.entries(response.headers)) {
    if (name !== 'content-type') reply.header(name, value);
  }
  reply.header('rampart-request-id', requestState.requestId);
  return sendWithSignature(
    reply,
    auth,
    response.status,
    response.headers['content-type'],
    response.body,
  );
}

async function sendRejection(
  context: GatewayContext,
  thrown: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const error = toRampartError(thrown);
  context.metrics.noteRejection(request, error.code);
  const requestState: RequestState = request.rampart ?? {
    requestId: randomUUID(),
    startedAt: Date.now(),
    event: 'request',
    clientAddress: normalizeAddress(request.socket.remoteAddress),
  };
  if (error.status >= 500) {
    context.logger.error(
      { err: thrown, requestId: requestState.requestId, code: error.code },
      'request failed',
    );
  } else {
    context.logger.info(
      {
        requestId: requestState.requestId,
        code: error.code,
        keyid: requestState.auth?.claims?.sid,
      },
      'request rejected',
    );
  }

  const outcome = requestState.event === 'request' ? 'rejected' : 'failure';
  try {
    await context.auditLog.append(
      auditFields(request, requestState, { outcome, code: error.code }),
    );
  } catch (auditError) {
    context.logger.error(
      { err: auditError, requestId: requestState.requestId },
      'audit append failed for a rejection',
    );
  }

  reply.header('rampart-request-id', requestState.requestId);
  const body = problemBody(reply, error, requestState.requestId);
  // A rejection is signed only when the request itself verified, or for clock_skew, whose
  // signed server time the client needs. Signing every rejection would let someone who replays
  // a client's request obtain a genuine nonce_replayed answer bound to it, and hand that to the
  // client in place of the real result.
  const signFor =
    requestState.auth?.verified === true || error.code === 'clock_skew'
      ? requestState.auth
      : undefined;
  return sendWithSignature(
    reply,
    signFor,
    error.status,
    reply.getHeader('content-type') as string,
    Buffer.from(body),
  );
}

/**
 * Registers `GET /metrics` when metrics are enabled. Only peers in `metrics.allowedAddresses`
 * get them. For anyone else the route does not exist (404 `route_not_found`), because counts of
 * rejection codes help an attacker tune a probe.
 */
function registerMetricsRoute(fastify: FastifyInstance, context: GatewayContext): void {
  const { enabled, allowedAddresses } = context.config.metrics;
  if (!enabled) return;
  const allowed = new Set(allowedAddresses.map((address) => normalizeAddress(address)));
  fastify.get('/metrics', async (request, reply) => {
    // Behind a trusted proxy the peer is the proxy itself, so the address that proxy reports
    // for the client decides.
    const client = request.rampart?.clientAddress ?? normalizeAddress(request.socket.remoteAddress);
    if (!allowed.has(client)) {
      throw new RampartError('route_not_found');
    }
    reply.header('content-type', context.metrics.contentType);
    return reply.send(await context.metrics.render());
  });
}
