import { describe, expect, it } from 'vitest';

import { verifyAuditTrail } from '../../src/audit/verify-trail.js';
import { ipv6Prefix64 } from '../../src/gateway/login-limiter.js';
import { createClientHandshake } from '../../src/session/handshake.js';
import {
  startGatewayHarness,
  TEST_PASSWORD,
  type GatewayHarness,
} from '../helpers/gateway-harness.js';
import { sendRaw, type RawResponse } from '../helpers/raw-http.js';
import { loginSession, sendSigned } from '../helpers/signing-session.js';

function login(
  harness: GatewayHarness,
  username: string,
  password: string,
  headers: Array<[string, string]> = [],
): Promise<RawResponse> {
  return sendRaw(harness.url, {
    method: 'POST',
    target: '/auth/login',
    headers: [['content-type', 'application/json'], ...headers],
    body: JSON.stringify({
      username,
      password,
      clientPublicKey: createClientHandshake().publicKey,
    }),
  });
}

describe('login rate limit', () => {
  it('locks an account out with a coded 429 and Retry-After', async () => {
    const harness = await startGatewayHarness({
      login: { maxFailures: 2, lockoutSeconds: 120 },
    });
    try {
      await login(harness, 'alice', 'wrong-1');
      await login(harness, 'alice', 'wrong-2');

      const locked = await login(harness, 'alice', 'wrong-3');

      expect(locked.status).toBe(429);
      expect(locked.json.code).toBe('login_rate_limited');
      expect(locked.json.retryAfter).toBeGreaterThanOrEqual(119);
      expect(locked.json.retryAfter).toBeLessThanOrEqual(120);
      expect(locked.headers['retry-after']).toBe(String(locked.json.retryAfter));
    } finally {
      await harness.close();
    }
  });

  it('checks at most the limit of parallel guesses', async () => {
    const harness = await startGatewayHarness({ login: { maxFailures: 5 } });
    try {
      const guesses = Array.from({ length: 39 }, (_, i) => login(harness, 'tessa', `guess-${i}`));
      const responses = await Promise.all([...guesses, login(harness, 'tessa', TEST_PASSWORD)]);
      const codes = responses.map((response) => response.json.code as string | undefined);

      expect(codes.filter((code) => code === 'credentials_invalid').length).toBeLessThanOrEqual(5);
      expect(codes.filter((code) => code === 'login_rate_limited').length).toBeGreaterThanOrEqual(
        34,
      );
      expect(responses.filter((response) => response.status === 200).length).toBeLessThanOrEqual(1);
    } finally {
      await harness.close();
    }
  });

  it('refuses the right password during the lockout', async () => {
    const harness = await startGatewayHarness({ login: { maxFailures: 1 } });
    try {
      await login(harness, 'alice', 'wrong');
      await login(harness, 'alice', 'wrong');

      const right = await login(harness, 'alice', TEST_PASSWORD);

      expect(right.status).toBe(429);
      expect(right.json.code).toBe('login_rate_limited');
    } finally {
      await harness.close();
    }
  });

  it('resets the account count after a successful login', async () => {
    const harness = await startGatewayHarness({ login: { maxFailures: 2 } });
    try {
      await login(harness, 'alice', 'wrong-1');
      expect((await login(harness, 'alice', TEST_PASSWORD)).status).toBe(200);

      await login(harness, 'alice', 'wrong-2');
      const second = await login(harness, 'alice', 'wrong-3');

      expect(second.status).toBe(401);
      expect(second.json.code).toBe('credentials_invalid');
    } finally {
      await harness.close();
    }
  });

  it('locks a client address out across usernames', async () => {
    const harness = await startGatewayHarness({
      login: { maxFailures: 10, maxFailuresPerAddress: 3 },
    });
    try {
      for (const username of ['u1', 'u2', 'u3']) {
        expect((await login(harness, username, 'wrong')).status).toBe(401);
      }

      const fourth = await login(harness, 'alice', TEST_PASSWORD);

      expect(fourth.status).toBe(429);
      expect(fourth.json.code).toBe('login_rate_limited');
    } finally {
      await harness.close();
    }
  });

  it('does not count successful logins against the address', async () => {
    const harness = await startGatewayHarness({ login: { maxFailuresPerAddress: 2 } });
    try {
      for (let i = 0; i < 5; i += 1) {
        expect((await login(harness, i % 2 === 0 ? 'alice' : 'tessa', TEST_PASSWORD)).status).toBe(
          200,
        );
      }
    } finally {
      await harness.close();
    }
  });

  it('counts each address a trusted proxy reports on its own', async () => {
    const harness = await startGatewayHarness({
      trustedProxies: ['127.0.0.1'],
      login: { maxFailures: 10, maxFailuresPerAddress: 1 },
    });
    try {
      const from = (address: string): Array<[string, string]> => [['x-forwarded-for', address]];
      await login(harness, 'u1', 'wrong', from('203.0.113.7'));

      const sameClient = await login(harness, 'u2', 'wrong', from('203.0.113.7'));
      const otherClient = await login(harness, 'u3', 'wrong', from('203.0.113.8'));

      expect(sameClient.status).toBe(429);
      expect(otherClient.status).toBe(401);
    } finally {
      await harness.close();
    }
  });

  it('groups IPv6 addresses by their /64 prefix', () => {
    expect(ipv6Prefix64('2001:db8:0:1::7')).toBe('2001:db8:0:1');
    expect(ipv6Prefix64('2001:0db8:0000:0001:ffff:0:0:1')).toBe('2001:db8:0:1');
    expect(ipv6Prefix64('::1')).toBe('0:0:0:0');
    expect(ipv6Prefix64('fe80::1%eth0')).toBe('fe80:0:0:0');
  });
});

describe('session rate limit', () => {
  it('answers 429 session_rate_limited past the limit and forwards nothing more', async () => {
    const harness = await startGatewayHarness({
      sessionRateLimit: { maxRequests: 3, windowSeconds: 60 },
    });
    try {
      const session = await loginSession(harness.url, 'alice', TEST_PASSWORD);
      for (let i = 0; i < 3; i += 1) {
        const ok = await sendSigned(harness.url, session, { method: 'GET', target: '/api/items' });
        expect(ok.status).toBe(200);
      }

      const limited = await sendSigned(harness.url, session, {
        method: 'GET',
        target: '/api/items',
      });

      expect(limited.status).toBe(429);
      expect(limited.json.code).toBe('session_rate_limited');
      expect(limited.json.retryAfter).toBeGreaterThan(0);
      expect(limited.headers['retry-after']).toBe(String(limited.json.retryAfter));
      expect(harness.upstream.calls).toHaveLength(3);
    } finally {
      await harness.close();
    }
  });

  it('limits each session on its own', async () => {
    const harness = await startGatewayHarness({ sessionRateLimit: { maxRequests: 1 } });
    try {
      const first = await loginSession(harness.url, 'alice', TEST_PASSWORD);
      const second = await loginSession(harness.url, 'alice', TEST_PASSWORD);
      await sendSigned(harness.url, first, { method: 'GET', target: '/api/items' });

      const other = await sendSigned(harness.url, second, { method: 'GET', target: '/api/items' });

      expect(other.status).toBe(200);
    } finally {
      await harness.close();
    }
  });

  it('does not charge a replayed request', async () => {
    const harness = await startGatewayHarness({ sessionRateLimit: { maxRequests: 2 } });
    try {
      const session = await loginSession(harness.url, 'alice', TEST_PASSWORD);
      const spec = { method: 'GET', target: '/api/items', nonce: 'fixed-nonce-1234567890' };
      expect((await sendSigned(harness.url, session, spec)).status).toBe(200);
      for (let i = 0; i < 3; i += 1) {
        expect((await sendSigned(harness.url, session, spec)).json.code).toBe('nonce_replayed');
      }

      const next = await sendSigned(harness.url, session, { method: 'GET', target: '/api/items' });

      expect(next.status).toBe(200);
    } finally {
      await harness.close();
    }
  });

  it('is off with maxRequests 0', async () => {
    const harness = await startGatewayHarness({ sessionRateLimit: { maxRequests: 0 } });
    try {
      const session = await loginSession(harness.url, 'alice', TEST_PASSWORD);
      for (let i = 0; i < 20; i += 1) {
        const ok = await sendSigned(harness.url, session, { method: 'GET', target: '/api/items' });
        expect(ok.status).toBe(200);
      }
    } finally {
      await harness.close();
    }
  });

  it('records the rejection in the audit trail', async () => {
    const harness = await startGatewayHarness({ sessionRateLimit: { maxRequests: 1 } });
    try {
      const session = await loginSession(harness.url, 'alice', TEST_PASSWORD);
      await sendSigned(harness.url, session, { method: 'GET', target: '/api/items' });
      const limited = await sendSigned(harness.url, session, {
        method: 'GET',
        target: '/api/items',
      });
      await harness.gateway.close();

      const { default: Database } = await import('better-sqlite3');
      const db = new Database(harness.auditFile, { readonly: true });
      const row = db
        .prepare('SELECT outcome, code, session_id FROM audit_entries WHERE request_id = ?')
        .get(limited.headers['rampart-request-id']) as Record<string, string> | undefined;
      db.close();

      expect(row).toEqual({
        outcome: 'rejected',
        code: 'session_rate_limited',
        session_id: session.sessionId,
      });
      expect(verifyAuditTrail({ file: harness.auditFile })).toMatchObject({ ok: true });
    } finally {
      await harness.close().catch(() => undefined);
    }
  });
});
