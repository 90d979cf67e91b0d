import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { MemoryReplayStore } from '../../src/replay/memory-replay-store.js';
import { openSessionToken, sealSessionToken } from '../../src/session/session-token.js';
import {
  newRevocationFile,
  startGatewayHarness,
  TEST_PASSWORD,
  type GatewayHarness,
} from '../helpers/gateway-harness.js';
import { sendRaw } from '../helpers/raw-http.js';
import { loginSession, sendSigned, type TestSession } from '../helpers/signing-session.js';

let harness: GatewayHarness;
let session: TestSession;

beforeAll(async () => {
  harness = await startGatewayHarness({ refreshGraceSeconds: 600 });
  session = await loginSession(harness.url, 'alice', TEST_PASSWORD);
});

afterAll(async () => {
  await harness.close();
});

async function expiredToken(secondsAgo: number): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const claims = openSessionToken(session.token, harness.keys.tokens, now);
  return sealSessionToken({ ...claims, exp: now - secondsAgo }, harness.keys.tokens);
}

describe('gateway edge cases', () => {
  it('answers an unsigned POST with signature_missing, not a missing key', async () => {
    const response = await sendRaw(harness.url, {
      method: 'POST',
      target: '/api/items',
      headers: [['content-type', 'application/json']],
      body: '{}',
    });

    expect(response.status).toBe(401);
    expect(response.json.code).toBe('signature_missing');
  });

  it('adds hashes of the signature base lines to signature_invalid in development', async () => {
    const response = await sendSigned(harness.url, session, {
      method: 'GET',
      target: '/api/items/1',
      after: (r) => void (r.target = '/api/items/2'),
    });

    expect(response.json.code).toBe('signature_invalid');
    const hashes = response.json.signatureBaseLineHashes as string[];
    expect(hashes).toHaveLength(5);
    expect(hashes.every((hash) => /^[0-9a-f]{16}$/.test(hash))).toBe(true);
  });

  it('keeps signature_invalid bare in production', async () => {
    const production = await startGatewayHarness({ mode: 'production' });
    try {
      const own = await loginSession(production.url, 'alice', TEST_PASSWORD);
      const response = await sendSigned(production.url, own, {
        method: 'GET',
        target: '/api/items/1',
        after: (r) => void (r.target = '/api/items/2'),
      });

      expect(response.json.code).toBe('signature_invalid');
      expect(response.json.signatureBaseLineHashes).toBeUndefined();
    } finally {
      await production.close();
    }
  });

  it('refreshes a token that expired within the grace period', async () => {
    const token = await expiredToken(60);

    const refresh = await sendSigned(
      harness.url,
      { ...session, token },
      { method: 'POST', target: '/auth/refresh', body: '{}', idempotencyKey: null },
    );
    const api = await sendSigned(
      harness.url,
      { ...session, token },
      { method: 'GET', target: '/api/items' },
    );

    expect(refresh.status).toBe(200);
    expect(typeof refresh.json.token).toBe('string');
    expect(api.status).toBe(401);
    expect(api.json.code).toBe('token_expired');
  });

  it('rejects a refresh after the grace period with token_expired', async () => {
    const token = await expiredToken(601);

    const refresh = await sendSigned(
      harness.url,
      { ...session, token },
      { method: 'POST', target: '/auth/refresh', body: '{}', idempotencyKey: null },
    );

    expect(refresh.status).toBe(401);
    expect(refresh.json.code).toBe('token_expired');
  });

  it('records a refresh with a query string as a refresh', async () => {
    const response = await sendSigned(harness.url, session, {
      method: 'POST',
      target: '/auth/refresh?x=1',
      body: '{}',
      idempotencyKey: null,
    });
    expect(response.status).toBe(200);

    const db = new Database(harness.auditFile, { readonly: true });
    const row = db
      .prepare(
        "SELECT event FROM audit_entries WHERE path = '/auth/refresh' ORDER BY seq DESC LIMIT 1",
      )
      .get() as { event: string };
    db.close();
    expect(row.event).toBe('refresh');
  });

  it('rejects a GET that carries content, without forwarding it', async () => {
    const before = harness.upstream.calls.length;
    const response = await sendSigned(harness.url, session, {
      method: 'GET',
      target: '/api/items',
      body: 'hello',
      headers: [['content-length', '5']],
    });

    expect(response.status).toBe(400);
    expect(response.json.code).toBe('request_malformed');
    expect(harness.upstream.calls.length).toBe(before);
  });

  it('accepts a bodiless DELETE with the digest of zero bytes', async () => {
    const response = await sendSigned(harness.url, session, {
      method: 'DELETE',
      target: '/api/items/3',
      headers: [['content-digest', 'sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:']],
      components: ['@method', '@authority', '@path', '@query', 'content-digest', 'idempotency-key'],
    });

    expect(response.status).toBe(200);
  });

  it('rejects a bodiless request whose digest is not that of zero bytes', async () => {
    const response = await sendSigned(harness.url, session, {
      method: 'DELETE',
      target: '/api/items/3',
      headers: [['content-digest', 'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:']],
      components: ['@method', '@authority', '@path', '@query', 'content-digest', 'idempotency-key'],
    });

    expect(response.status).toBe(400);
    expect(response.json.code).toBe('digest_mismatch');
  });
});

describe('gateway behind a trusted proxy', () => {
  it('takes origin and client address from the proxy it trusts', async () => {
    const proxied = await startGatewayHarness({
      trustedProxies: ['127.0.0.1'],
      publicOrigins: ['https://bank.example'],
    });
    try {
      const own = await loginSession(proxied.url, 'alice', TEST_PASSWORD).catch(() => undefined);
      // Login needs no origin, but the proxy headers decide the signed authority.
      expect(own).toBeDefined();
      const response = await sendSigned(proxied.url, own as TestSession, {
        method: 'GET',
        target: '/api/items',
        scheme: 'https',
        authority: 'bank.example',
        headers: [
          [
            'forwarded',
            'for=198.51.100.1;host=evil.example, for="203.0.113.7:4711";host=bank.example;proto=https',
          ],
        ],
      });

      expect(response.status).toBe(200);
      const db = new Database(proxied.auditFile, { readonly: true });
      const row = db
        .prepare(
          "SELECT client_address FROM audit_entries WHERE path = '/api/items' ORDER BY seq DESC LIMIT 1",
        )
        .get() as { client_address: string };
      db.close();
      expect(row.client_address).toBe('203.0.113.7');
    } finally {
      await proxied.close();
    }
  });

  it('ignores proxy headers from a peer it does not trust', async () => {
    const direct = await startGatewayHarness({ publicOrigins: ['https://bank.example'] });
    try {
      const response = await sendRaw(direct.url, {
        method: 'GET',
        target: '/api/items',
        headers: [['forwarded', 'host=bank.example;proto=https']],
      });

      expect(response.status).toBe(421);
      expect(response.json.code).toBe('host_rejected');
    } finally {
      await direct.close();
    }
  });
});

describe('logout with a refresh grace period', () => {
  it('outlasts the grace during which refresh still accepts a token', async () => {
    let offsetMs = 0;
    const store = new MemoryReplayStore({
      now: () => Date.now() + offsetMs,
      revocationFile: newRevocationFile(),
    });
    const short = await startGatewayHarness(
      { tokenTtlSeconds: 30, refreshGraceSeconds: 600 },
      { replayStore: store },
    );
    try {
      const own = await loginSession(short.url, 'alice', TEST_PASSWORD);
      const logout = await sendSigned(short.url, own, {
        method: 'POST',
        target: '/auth/logout',
        body: '{}',
        idempotencyKey: null,
      });
      expect(logout.status).toBe(200);

      // Seen from the store, 100 s have passed: the token has expired but is within the grace.
      offsetMs = 100_000;
      const refresh = await sendSigned(short.url, own, {
        method: 'POST',
        target: '/auth/refresh',
        body: '{}',
        idempotencyKey: null,
      });

      expect(refresh.status).toBe(401);
      expect(refresh.json.code).toBe('session_revoked');
    } finally {
      await short.close();
    }
  });
});
