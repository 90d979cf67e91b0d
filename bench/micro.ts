/**
 * Micro benchmarks on one signed request with a small JSON body: Rampart's whole verification
 * step, an independent RFC 9421 library, Hawk, and the floor of one bare HMAC over the same
 * signature base. Every verifier gets a freshly signed request per call, signed before timing.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { FastifyRequest } from 'fastify';
import hawk from 'hawk';
import { createVerifier, httpbis } from 'http-message-signatures';
import pino from 'pino';

import { SqliteAuditLog } from '../src/audit/audit-log-sqlite.js';
import { RampartClient } from '../src/client/rampart-client.js';
import {
  authenticateBody,
  authenticateHeaders,
  beginAuthentication,
} from '../src/gateway/authenticate.js';
import { parseConfig } from '../src/gateway/config.js';
import type { GatewayContext } from '../src/gateway/gateway-context.js';
import { LoginLimiter } from '../src/gateway/login-limiter.js';
import { GatewayMetrics } from '../src/gateway/metrics.js';
import { RouteTable } from '../src/gateway/route-table.js';
import { StoreHealth } from '../src/gateway/store-health.js';
import { TokenCache } from '../src/gateway/token-cache.js';
import { MemoryReplayStore } from '../src/replay/memory-replay-store.js';
import { acceptHandshake } from '../src/session/handshake.js';
import { generateKeyFile, loadKeyFile, writeKeyFile } from '../src/session/key-file.js';
import { openSessionToken, sealSessionToken } from '../src/session/session-token.js';
import { SqliteUserStore } from '../src/session/user-store.js';
import { buildSignatureBase } from '../src/signature/signature-base.js';
import { parseSignature } from '../src/signature/signature-input.js';
import { fieldsFromRecord } from '../src/signature/message.js';
import { benchCase, measureRounds, type Measurement } from './measure.js';

const ORIGIN = 'http://127.0.0.1:8080';
// Rounds per case. The cases take turns, so a slow spell of the machine hits them all alike.
const MEASURE_ROUNDS = 5;
const TARGET = '/api/transfers';
const BODY = JSON.stringify({
  fromAccount: 'acc-alice-checking',
  toAccount: 'acc-bob-checking',
  amount: '25.00',
});

/** Runs the micro benchmarks; `count` is the number of timed calls per verifier. */
export async function runMicroBenchmarks(count: number): Promise<Measurement[]> {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-bench-'));
  try {
    return await runIn(dir, count);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runIn(dir: string, count: number): Promise<Measurement[]> {
  const keysFile = join(dir, 'keys.json');
  writeKeyFile(keysFile, generateKeyFile([]));
  const keys = loadKeyFile(keysFile);
  const config = parseConfig(
    // The limit stays on, so its counter is part of the cost, but far above the load.
    { routes: [], services: {}, sessionRateLimit: { maxRequests: 1_000_000_000 } },
    dir,
  );

  // The SDK logs in through a fetch that runs the gateway's handshake in process.
  let sessionKeyB64 = '';
  let token = '';
  const now = Math.floor(Date.now() / 1000);
  const client = new RampartClient({
    baseUrl: ORIGIN,
    fetch: async (_input, init) => {
      const request = JSON.parse(String(init?.body)) as { clientPublicKey: string };
      const sessionId = randomUUID();
      const handshake = acceptHandshake(request.clientPublicKey, sessionId);
      sessionKeyB64 = handshake.sessionKey.toString('base64url');
      token = await sealSessionToken(
        {
          sid: sessionId,
          sub: 'u-alice',
          roles: ['customer'],
          permissions: ['transfers:create'],
          iat: now,
          exp: now + 300,
          sexp: now + 28_800,
          key: sessionKeyB64,
        },
        keys.tokens,
      );
      const body = {
        sessionId,
        serverPublicKey: handshake.serverPublicKey,
        salt: handshake.salt,
        subject: 'u-alice',
        roles: ['customer'],
        permissions: ['transfers:create'],
        expiresAt: now + 300,
        sessionExpiresAt: now + 28_800,
        serverTime: now,
        token,
      };
      return new Response(JSON.stringify(body), {
        status: 200,
        headers: { 'content-type': 'application/json' },
      });
    },
  });
  await client.login('alice', 'unused');
  const sessionKey = Buffer.from(sessionKeyB64, 'base64url');

  const signRequest = () => {
    const signed = client.sign(TARGET, { method: 'POST', body: JSON.parse(BODY) as unknown });
    const headers = signed.init.headers as Record<string, string>;
    return {
      headers: { host: '127.0.0.1:8080', 'content-length': String(BODY.length), ...headers },
      body: Buffer.from(BODY),
    };
  };

  // The gateway builds its origin list once, too.
  const publicOrigins = [new URL(ORIGIN)];
  // A new revocation file shows the store that no earlier process used its nonce history.
  const replayStore = new MemoryReplayStore({ revocationFile: join(dir, 'revocations.sqlite') });
  const userStore = new SqliteUserStore(join(dir, 'users.sqlite'));
  const contextAuditLog = new SqliteAuditLog({ file: join(dir, 'audit.sqlite') });
  const context: GatewayContext = {
    config,
    keys,
    replayStore,
    userStore,
    auditLog: contextAuditLog,
    routes: new RouteTable([]),
    loginLimiter: new LoginLimiter(replayStore, config.login),
    tokenCache: new TokenCache(),
    health: new StoreHealth({
      backends: { replay: 'memory', users: 'sqlite', audit: 'sqlite' },
      stores: { replay: replayStore, users: userStore, audit: contextAuditLog },
      listener: { onFailure: () => undefined, onStateChange: () => undefined },
    }),
    metrics: new GatewayMetrics({ processMetrics: false }),
    origins: () => publicOrigins,
    logger: pino({ level: 'silent' }),
  };

  const sample = signRequest();
  const parsed = parseSignature(fieldsFromRecord(sample.headers), { tag: 'rampart' });
  const base = buildSignatureBase(
    {
      method: 'POST',
      scheme: 'http',
      authority: '127.0.0.1:8080',
      target: TARGET,
      headers: fieldsFromRecord(sample.headers),
    },
    parsed.components,
    parsed.rawParams,
  );

  const verifier = createVerifier(sessionKey, 'hmac-sha256');
  const credentials = { id: 'session', key: sessionKeyB64, algorithm: 'sha256' };
  const seenHawkNonces = new Set<string>();
  const auditLog = context.auditLog;
  let auditRequest = 0;

  const cases = [
    benchCase(
      'floor: one HMAC-SHA256 over the signature base',
      () => base,
      (input) => createHmac('sha256', sessionKey).update(input).digest(),
    ),
    benchCase(
      'Rampart: whole verification step',
      // Node's HTTP parser builds the request object for every server alike, so it is made
      // before timing.
      () => {
        const signed = signRequest();
        return { fake: fakeRequest(signed.headers), body: signed.body };
      },
      async ({ fake, body }) => {
        const auth = beginAuthentication(fake, context);
        await authenticateHeaders(fake, context, auth, { requireIdempotencyKey: true });
        await authenticateBody(fake, context, auth, body);
      },
    ),
    benchCase(
      'Rampart: token decrypt only (no cache)',
      () => token,
      (input) => openSessionToken(input, keys.tokens, Math.floor(Date.now() / 1000)),
    ),
    benchCase(
      'Rampart SDK: sign one request',
      () => undefined,
      () => signRequest(),
    ),
    benchCase('http-message-signatures 1.0: verify', signRequest, async (request) => {
      const ok = await httpbis.verifyMessage(
        { keyLookup: async () => ({ id: 'session', algs: ['hmac-sha256'], verify: verifier }) },
        { method: 'POST', url: `${ORIGIN}${TARGET}`, headers: request.headers },
      );
      if (ok !== true) throw new Error('http-message-signatures rejected a valid request');
    }),
    benchCase(
      'hawk 9: server authenticate with payload hash',
      () => ({
        authorization: hawk.client.header(`${ORIGIN}${TARGET}`, 'POST', {
          credentials,
          payload: BODY,
          contentType: 'application/json',
        }).header,
      }),
      async ({ authorization }) => {
        await hawk.server.authenticate(
          {
            method: 'POST',
            url: TARGET,
            host: '127.0.0.1',
            port: 8080,
            headers: { host: '127.0.0.1:8080', authorization, 'content-type': 'application/json' },
          },
          async () => credentials,
          {
            payload: BODY,
            nonceFunc: (_key, nonce) => {
              if (seenHawkNonces.has(nonce)) throw new Error('hawk nonce replayed');
              seenHawkNonces.add(nonce);
            },
          },
        );
      },
    ),
    benchCase(
      'audit append (SQLite, WAL fsync)',
      () => (auditRequest += 1),
      (i) =>
        auditLog.append({
          event: 'request',
          outcome: 'allowed',
          requestId: String(i),
          method: 'POST',
          path: TARGET,
          subject: 'u-alice',
        }),
      // Each append waits for its own fsync, so fewer calls give the same precision.
      { maxCount: 2000 },
    ),
  ];
  const results = await measureRounds(cases, count, MEASURE_ROUNDS);

  await context.auditLog.close();
  await replayStore.close();
  await context.userStore.close();
  return results;
}

// Builds the request object as Node's HTTP parser would, with each header value one flat string
// decoded from the wire, shared by `rawHeaders` and `headers`. The SDK's values are concatenated
// strings, which V8 would flatten on first use inside the timed step.
function fakeRequest(signedHeaders: Record<string, string>): FastifyRequest {
  const rawHeaders: string[] = [];
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(signedHeaders)) {
    const wireValue = Buffer.from(value, 'latin1').toString('latin1');
    rawHeaders.push(name, wireValue);
    headers[name.toLowerCase()] = wireValue;
  }
  return {
    method: 'POST',
    url: TARGET,
    headers,
    raw: { rawHeaders },
    socket: { remoteAddress: '127.0.0.1' },
    cookies: {},
  } as unknown as FastifyRequest;
}
