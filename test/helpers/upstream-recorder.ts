import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { decodeIdentity, type Identity } from '../../src/service/identity.js';
import { hopPolicy } from '../../src/service/hop-signature.js';
import { checkContentDigest } from '../../src/signature/content-digest.js';
import { hmacKey } from '../../src/signature/algorithms.js';
import { combinedFieldValue, fieldsFromRawHeaders } from '../../src/signature/message.js';
import { verifyMessage } from '../../src/signature/verify.js';

/** One request the upstream received. */
export interface RecordedCall {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
  identity: Identity;
  hopKeyId: string;
}

/**
 * A real HTTP upstream on 127.0.0.1 that checks the gateway's hop signature itself (with the
 * signature core only, independent of the service kit), records every call and answers JSON.
 */
export async function startUpstreamRecorder(hopKeys: Map<string, Uint8Array>): Promise<{
  url: string;
  calls: RecordedCall[];
  rejected: number;
  respond: (
    handler: (call: RecordedCall) => {
      status: number;
      body: unknown;
      headers?: Record<string, string>;
    },
  ) => void;
  close: () => Promise<void>;
}> {
  const calls: RecordedCall[] = [];
  const state = { rejected: 0 };
  let handler = (
    call: RecordedCall,
  ): { status: number; body: unknown; headers?: Record<string, string> } => ({
    status: 200,
    body: { ok: true, path: call.url, sub: call.identity.sub },
  });

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const address = server.address() as AddressInfo;
      const headers = fieldsFromRawHeaders(req.rawHeaders);
      const hasBody = req.headers['content-length'] !== undefined;
      try {
        const parsed = verifyMessage(
          {
            method: req.method ?? '',
            scheme: 'http',
            authority: `127.0.0.1:${address.port}`,
            target: req.url ?? '',
            headers,
          },
          {
            policy: hopPolicy({
              hasBody,
              hasIdempotencyKey: req.headers['idempotency-key'] !== undefined,
            }),
            resolveKey: (keyid) => {
              const key = hopKeys.get(keyid);
              return key === undefined ? undefined : hmacKey(key);
            },
          },
        );
        if (hasBody) checkContentDigest(combinedFieldValue(headers, 'content-digest') ?? '', body);
        const call: RecordedCall = {
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body,
          identity: decodeIdentity(req.headers['rampart-identity'] as string | undefined),
          hopKeyId: parsed.params.keyid as string,
        };
        calls.push(call);
        const reply = handler(call);
        res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
        res.end(JSON.stringify(reply.body));
      } catch {
        state.rejected += 1;
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ code: 'hop_rejected' }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    get rejected() {
      return state.rejected;
    },
    respond(next) {
      handler = next;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
