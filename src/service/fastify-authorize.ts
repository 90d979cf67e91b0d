import type { FastifyRequest } from 'fastify';

import { RampartError } from '../errors.js';
import type { VerifiedHop } from './verify-hop.js';

/** A Fastify preHandler hook that rejects by throwing a RampartError. */
export type RampartPreHandler = (request: FastifyRequest) => Promise<void>;

/**
 * Builds a preHandler that lets a request through only when the end user's identity carries
 * `permission`.
 *
 * @throws RampartError `permission_denied` (403) from the hook.
 */
export function requirePermission(permission: string): RampartPreHandler {
  return async function checkPermission(request) {
    const hop = verifiedHop(request);
    if (!hop.identity.permissions.includes(permission)) throw new RampartError('permission_denied');
  };
}

/**
 * Builds a preHandler that lets a request through only when `check` returns true, typically
 * because the identity's subject owns the resource the request names.
 *
 * @throws RampartError `resource_forbidden` (403) from the hook, or whatever `check` throws.
 */
export function requireOwnership(
  check: (request: FastifyRequest) => boolean | Promise<boolean>,
): RampartPreHandler {
  return async function checkOwnership(request) {
    verifiedHop(request);
    if ((await check(request)) !== true) throw new RampartError('resource_forbidden');
  };
}

/**
 * Builds a preHandler that lets a request through only from the named calling services, for
 * routes that one accepted caller may use and another may not.
 *
 * @throws RampartError `permission_denied` (403) from the hook.
 */
export function requireCaller(...callers: string[]): RampartPreHandler {
  return async function checkCaller(request) {
    const hop = verifiedHop(request);
    if (!callers.includes(hop.caller)) throw new RampartError('permission_denied');
  };
}

/**
 * Returns the hop that `rampartService` verified for `request`. Call it from preHandler hooks
 * and handlers.
 *
 * @throws Error when there is no verified hop, which happens only when the plugin is not
 *   registered on this instance or the caller runs before preValidation. The error handler
 *   turns it into a 500, so a missing check never lets a request through.
 */
export function verifiedHop(request: FastifyRequest): VerifiedHop {
  const hop = request.rampartHop as VerifiedHop | null | undefined;
  if (hop === null || hop === undefined) {
    throw new Error(
      'Internal error: no verified hop on this request; register rampartService first',
    );
  }
  return hop;
}
