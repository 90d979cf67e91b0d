import type { FastifyRequest } from 'fastify';

import type { AuditEntryInput, AuditEvent } from '../audit/audit-entry.js';
import { RampartError } from '../errors.js';
import { combinedFieldValue } from '../signature/message.js';
import type { RequestAuthentication } from './authenticate.js';
import type { GatewayContext } from './gateway-context.js';

/** Per-request facts the audit entry needs, gathered as the request passes the hooks. */
export interface RequestState {
  requestId: string;
  startedAt: number;
  /** Client address: the TCP peer, or what a trusted proxy reported. */
  clientAddress: string;
  event: AuditEvent;
  service?: string;
  /** Permission the matched route requires. */
  permission?: string;
  auth?: RequestAuthentication;
  /** Set by login, where no session exists yet. */
  subject?: string;
  sessionId?: string;
}

/** Builds an audit entry for `request` from what the hooks learned about it. */
export function auditFields(
  request: FastifyRequest,
  state: RequestState,
  fields: Pick<AuditEntryInput, 'outcome'> & Partial<AuditEntryInput>,
): AuditEntryInput {
  const queryStart = request.url.indexOf('?');
  const claims = state.auth?.claims;
  const digest =
    state.auth !== undefined
      ? combinedFieldValue(state.auth.signable.headers, 'content-digest')
      : undefined;
  return {
    event: state.event,
    subject: claims?.sub ?? state.subject,
    sessionId: claims?.sid ?? state.sessionId,
    requestId: state.requestId,
    method: request.method,
    path: (queryStart === -1 ? request.url : request.url.slice(0, queryStart)).slice(0, 2048),
    bodyDigest: digest?.slice(0, 512),
    clientAddress: state.clientAddress,
    service: state.service,
    latencyMs: Date.now() - state.startedAt,
    ...fields,
  };
}

/**
 * Appends an entry and waits until it is durable.
 *
 * @throws RampartError `store_unavailable` when the audit store cannot record it.
 */
export async function recordAudit(context: GatewayContext, entry: AuditEntryInput): Promise<void> {
  try {
    await context.auditLog.append(entry);
  } catch (error) {
    context.logger.error({ err: error, requestId: entry.requestId }, 'audit append failed');
    throw new RampartError('store_unavailable');
  }
}
