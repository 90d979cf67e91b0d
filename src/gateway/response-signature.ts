import type { FastifyReply } from 'fastify';

import { createContentDigest } from '../signature/content-digest.js';
import { component } from '../signature/components.js';
import { signMessage } from '../signature/sign.js';
import type { RequestAuthentication } from './authenticate.js';

/** `tag` of gateway response signatures. */
export const RESPONSE_TAG = 'rampart-response';
/** Dictionary label of gateway response signatures. */
export const RESPONSE_LABEL = 'res';

/**
 * Sends `body` with `status`, adding `Content-Digest` and, when the session key is known, an
 * RFC 9421 response signature over `@status`, `content-type`, `content-digest` and the
 * request's own signature (`"signature";req;key=...`). The last component ties the answer to the
 * one request that asked for it, so a recorded answer cannot be replayed to another request.
 */
export function sendWithSignature(
  reply: FastifyReply,
  auth: RequestAuthentication | undefined,
  status: number,
  contentType: string | undefined,
  body: Buffer,
): FastifyReply {
  reply.code(status);
  if (contentType !== undefined) reply.header('content-type', contentType);
  const digest = createContentDigest(body);
  reply.header('content-digest', digest);

  if (auth?.sessionKey !== undefined && auth.claims !== undefined && auth.signature !== undefined) {
    const headers: Array<[string, string]> = [['content-digest', digest]];
    const components = [component('@status'), component('content-digest')];
    if (contentType !== undefined) {
      headers.push(['content-type', contentType]);
      components.push(component('content-type'));
    }
    components.push(component('signature', { req: true, key: auth.signature.label }));

    const signed = signMessage(
      { status, headers, request: auth.signable },
      {
        key: auth.sessionKey,
        keyid: auth.claims.sid,
        label: RESPONSE_LABEL,
        tag: RESPONSE_TAG,
        components,
      },
    );
    reply.header('signature-input', signed.signatureInput);
    reply.header('signature', signed.signature);
  }
  return reply.send(body);
}
