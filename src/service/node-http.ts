import type { IncomingMessage, ServerResponse } from 'node:http';

import { pino, type Logger } from 'pino';

import { PROBLEM_CONTENT_TYPE, RampartError, toProblem } from '../errors.js';
import {
  assertAdapterHopOptions,
  assertByteLimit,
  DEFAULT_BODY_LIMIT_BYTES,
  resolveHopOptions,
  type AdapterHopOptions,
} from './options.js';
import { checkHopSignature, completeHopVerification, type VerifiedHop } from './verify-hop.js';

/** Verified hop and body bytes passed to a handler behind {@link withRampart}. */
export interface NodeHopContext extends VerifiedHop {
  /** The raw body bytes, already checked against `Content-Digest`; undefined without a body. */
  body: Uint8Array | undefined;
}

/** A request handler behind {@link withRampart}. A thrown RampartError becomes its problem reply. */
export type NodeHopHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  context: NodeHopContext,
) => void | Promise<void>;

/** Logger methods the adapter uses; a pino logger fits. */
export type ServiceLogger = Pick<Logger, 'info' | 'error'>;

/** Options of {@link withRampart}. */
export interface WithRampartOptions extends AdapterHopOptions {
  /** Maximum request body size in bytes. Default 1 MiB. Larger bodies get 413 `body_too_large`. */
  maxBodyBytes?: number;
  /** Logger for rejections: 4xx at info, 5xx at error. `false` disables it. Default: a pino logger. */
  logger?: ServiceLogger | false;
}

/**
 * Wraps a `node:http` request handler so that it runs only for hop-signed calls from configured
 * callers. The signature is checked before the body is read, the body is read up to
 * `maxBodyBytes`, then its digest is checked, the nonce claimed and the identity decoded.
 * Every rejection, and every error the handler throws before it has sent headers, becomes an
 * RFC 9457 problem reply. A 5xx carries only the fixed message of its code.
 *
 * @throws TypeError at construction for invalid options.
 */
export function withRampart(
  handler: NodeHopHandler,
  options: WithRampartOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  assertAdapterHopOptions(options, 'withRampart');
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  assertByteLimit(maxBodyBytes, 'withRampart', 'maxBodyBytes');
  const logger = options.logger === undefined ? pino({ name: 'rampart-service' }) : options.logger;

  return function rampartRequestListener(req, res) {
    let hop: VerifiedHop | undefined;
    const run = async (): Promise<void> => {
      const verifyOptions = resolveHopOptions(options);
      const signed = checkHopSignature(
        { method: req.method ?? '', target: req.url ?? '', rawHeaders: req.rawHeaders },
        verifyOptions,
      );
      const body = signed.hasBody ? await readBody(req, maxBodyBytes) : undefined;
      hop = await completeHopVerification(signed, body, verifyOptions);
      await handler(req, res, { ...hop, body });
    };
    run().catch((error: unknown) => sendError(req, res, error, hop, logger));
  };
}

/**
 * Reads the whole body, rejecting as soon as it exceeds `limit` bytes. A declared
 * `Content-Length` over the limit is rejected before any byte is read.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.reject(new RampartError('body_too_large'));
  }

  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.byteLength;
      if (size > limit) {
        cleanup();
        // Stop reading; the reply closes the connection, so the rest is never buffered.
        req.pause();
        reject(new RampartError('body_too_large'));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

function sendError(
  req: IncomingMessage,
  res: ServerResponse,
  error: unknown,
  hop: VerifiedHop | undefined,
  logger: ServiceLogger | false,
): void {
  const rejection = error instanceof RampartError ? error : new RampartError('internal_error');
  const logFields = { code: rejection.code, method: req.method, keyid: hop?.keyid };
  if (logger !== false && rejection.status >= 500) {
    logger.error({ ...logFields, err: error }, 'request failed');
  } else if (logger !== false) {
    logger.info({ ...logFields, field: rejection.extensions.field }, 'request rejected');
  }

  if (res.headersSent || res.destroyed) {
    // The handler already started its reply, so the only honest signal left is a cut connection.
    res.destroy();
    return;
  }
  const payload = JSON.stringify(toProblem(rejection, hop?.identity.requestId));
  const headers: Record<string, string | number> = {
    'content-type': PROBLEM_CONTENT_TYPE,
    'content-length': Buffer.byteLength(payload),
  };
  // Node drains an unread request body after the reply, however large; closing avoids that.
  if (!req.complete) headers.connection = 'close';
  res.writeHead(rejection.status, headers).end(payload);
}
