import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import { PROBLEM_CONTENT_TYPE, RampartError, toProblem } from '../errors.js';
import { parseJsonBody } from './json-body.js';
import {
  assertAdapterHopOptions,
  assertByteLimit,
  DEFAULT_BODY_LIMIT_BYTES,
  resolveHopOptions,
  type AdapterHopOptions,
} from './options.js';
import {
  checkHopSignature,
  completeHopVerification,
  type SignedHop,
  type VerifiedHop,
} from './verify-hop.js';

export {
  requireCaller,
  requireOwnership,
  requirePermission,
  verifiedHop,
} from './fastify-authorize.js';

// The gateway plugin already declares `request.rampart` for its own request state, and module
// augmentation is global to a program, so the service kit uses its own property name.
declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The verified hop: calling service, key id and end-user identity. The `rampartService`
     * plugin sets it in its preValidation hook, so it is null in onRequest and preParsing hooks
     * and set in preHandler hooks and handlers. `verifiedHop(request)` reads it without a null
     * check.
     */
    rampartHop: VerifiedHop | null;
  }
}

/** Options of {@link rampartService}. */
export interface RampartServiceOptions extends AdapterHopOptions {
  /** Maximum JSON request body size in bytes. Default 1 MiB. Larger bodies get 413. */
  bodyLimit?: number;
}

const EMPTY_BODY = new Uint8Array(0);

/**
 * Fastify plugin that lets only hop-signed calls from configured callers reach the routes.
 * It applies to the instance that registers it, not to a child context, so register it before
 * the routes. It:
 *
 * - checks the hop signature in an onRequest hook, before the body is read;
 * - replaces every content-type parser with one for `application/json` that keeps the raw bytes,
 *   so that the digest is checked over the bytes received and JSON is parsed afterwards;
 * - checks the digest, claims the nonce and decodes the identity in a preValidation hook, then
 *   sets `request.rampartHop`;
 * - sends every error as an RFC 9457 problem (`application/problem+json`), and unknown routes
 *   with `route_not_found`. A 5xx carries only the fixed message of its code.
 *
 * Rejections are logged through the instance's logger with their code: 4xx at info, 5xx at
 * error with the error as thrown. The plugin logs no header, body or key.
 *
 * @throws TypeError at registration for invalid options.
 */
export async function rampartService(
  instance: FastifyInstance,
  options: RampartServiceOptions,
): Promise<void> {
  assertAdapterHopOptions(options, 'rampartService');
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT_BYTES;
  assertByteLimit(bodyLimit, 'rampartService', 'bodyLimit');

  // Hops that passed the signature check, waiting for their body. A WeakMap frees an entry with
  // its request, whatever way the request ends.
  const signedHops = new WeakMap<FastifyRequest, SignedHop>();

  instance.decorateRequest('rampartHop', null);

  instance.removeAllContentTypeParsers();
  instance.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer', bodyLimit },
    (_request, body, done) => done(null, body),
  );

  instance.addHook('onRequest', async (request) => {
    const signed = checkHopSignature(
      { method: request.method, target: request.url, rawHeaders: request.raw.rawHeaders },
      resolveHopOptions(options),
    );
    signedHops.set(request, signed);
  });

  instance.addHook('preValidation', async (request) => {
    const signed = signedHops.get(request);
    if (signed === undefined) {
      throw new Error('Internal error: rampartService preValidation ran without its onRequest');
    }
    const raw = readRawBody(request, signed);
    const hop = await completeHopVerification(signed, raw, resolveHopOptions(options));
    request.rampartHop = hop;
    request.log = request.log.child({
      caller: hop.caller,
      keyid: hop.keyid,
      gatewayRequestId: hop.identity.requestId,
    });
    // An empty body (a POST without payload still carries `Content-Length: 0`) has no JSON.
    request.body = raw === undefined || raw.byteLength === 0 ? undefined : parseJsonBody(raw);
  });

  instance.setErrorHandler(sendProblem);
  instance.setNotFoundHandler(async () => {
    throw new RampartError('route_not_found');
  });
}

// Fastify reads this marker to run the plugin in the registering context, as fastify-plugin does.
Object.assign(rampartService, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'rampart-service',
});

/** Returns the raw bytes the JSON parser kept, or an empty body for `Content-Length: 0`. */
function readRawBody(request: FastifyRequest, signed: SignedHop): Uint8Array | undefined {
  if (Buffer.isBuffer(request.body)) return request.body;
  // Fastify skips parsing when a bodywith method carries no Content-Type and a zero length.
  if (signed.hasBody && request.headers['content-length'] === '0') return EMPTY_BODY;
  return undefined;
}

function sendProblem(
  error: FastifyError | Error,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const rejection = toRampartError(error);
  if (rejection.status >= 500) {
    request.log.error({ err: error, code: rejection.code }, 'request failed');
  } else {
    request.log.info(
      { code: rejection.code, field: rejection.extensions.field },
      'request rejected',
    );
  }
  // request.rampartHop is null until the preValidation hook has verified the hop.
  const hop = request.rampartHop;
  void reply
    .status(rejection.status)
    .type(PROBLEM_CONTENT_TYPE)
    .send(toProblem(rejection, hop?.identity.requestId));
}

// Fastify's own errors that a client can cause, by their stable code.
const FASTIFY_CODES: Record<string, RampartError['code']> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'media_type_unsupported',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'request_malformed',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'request_malformed',
  FST_ERR_CTP_INVALID_JSON_BODY: 'request_malformed',
};

function toRampartError(error: FastifyError | Error): RampartError {
  if (error instanceof RampartError) return error;
  const fastifyError = error as Partial<FastifyError>;
  const mapped = fastifyError.code === undefined ? undefined : FASTIFY_CODES[fastifyError.code];
  if (mapped !== undefined) return new RampartError(mapped);
  // Schema validation failures name the offending property, never its value.
  if (fastifyError.validation !== undefined) {
    const first = fastifyError.validation[0];
    const field = first?.instancePath || (first?.params?.missingProperty as string | undefined);
    return new RampartError('request_malformed', field ? { field } : {});
  }
  const status = fastifyError.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    return new RampartError('request_malformed');
  }
  return new RampartError('internal_error');
}
