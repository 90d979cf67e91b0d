import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createClientHandshake } from '../../src/session/handshake.js';
import { openSessionToken } from '../../src/session/session-token.js';
import {
  startGatewayHarness,
  TEST_PASSWORD,
  type GatewayHarness,
} from '../helpers/gateway-harness.js';
import { sendRaw } from '../helpers/raw-http.js';
import { loginSession, sendSigned } from '../helpers/signing-session.js';

let harness: GatewayHarness;

beforeAll(async () => {
  harness = await startGatewayHarness({ login: { maxFailures: 3, windowSeconds: 300 } });
});

afterAll(async () => {
  await harness.close();
});

function login(body: Record<string, unknown>, headers: Array<[string, string]> = []) {
  return sendRaw(harness.url, {
    method: 'POST',
    target: '/auth/login',
    headers: [['content-type', 'application/json'], ...headers],
    body: JSON.stringify(body),
  });
}

describe('login', () => {
  it('issues a native token that carries roles and permissions', async () => {
    const session = await loginSession(harness.url, 'alice', TEST_PASSWORD);
    const now = Math.floor(Date.now() / 1000);
    const claims = await openSessionToken(session.token, harness.keys.tokens, now);

    expect(claims.sub).toBe('u-alice');
    expect(claims.sid).toBe(session.sessionId);
    expect(claims.roles).toEqual(['customer']);
    expect(claims.permissions).toEqual(['items:read', 'items:write']);
    expect(claims.exp - now).toBeGreaterThan(290);
    expect(claims.exp - now).toBeLessThanOrEqual(300);
    expect(claims.sexp - now).toBeGreaterThan(8 * 3600 - 10);
    expect(session.token.split('.')).toHaveLength(5);
    expect(
      JSON.parse(Buffer.from(session.token.split('.')[0] as string, 'base64url').toString()),
    ).toEqual({
      alg: 'dir',
      enc: 'A256GCM',
      kid: harness.keys.tokens.current.kid,
    });
  });

  it('derives the same session key on both sides', async () => {
    const session = await loginSession(harness.url, 'alice', TEST_PASSWORD);
    const claims = await openSessionToken(
      session.token,
      harness.keys.tokens,
      Math.floor(Date.now() / 1000),
    );
    const clientKey =
      session.key.algorithm === 'hmac-sha256'
        ? session.key.secret.export().toString('base64url')
        : '';

    expect(clientKey).toBe(claims.key);
  });

  it('sets a __Host- cookie for browsers and keeps the token out of the body', async () => {
    const handshake = createClientHandshake();
    const response = await login({
      username: 'alice',
      password: TEST_PASSWORD,
      clientPublicKey: handshake.publicKey,
      client: 'browser',
    });

    expect(response.status).toBe(200);
    expect(response.json.token).toBeUndefined();
    const cookie = String(response.headers['set-cookie']);
    expect(cookie).toMatch(/^__Host-rampart-session=[A-Za-z0-9_.-]+;/);
    expect(cookie).toContain('Path=/');
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('Secure');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).not.toContain('Domain');
  });

  it('rejects a wrong password with credentials_invalid', async () => {
    const response = await login({
      username: 'tessa',
      password: 'wrong',
      clientPublicKey: createClientHandshake().publicKey,
    });

    expect(response.status).toBe(401);
    expect(response.json.code).toBe('credentials_invalid');
  });

  it('answers an unknown user exactly like a wrong password', async () => {
    const response = await login({
      username: 'nobody',
      password: 'wrong',
      clientPublicKey: createClientHandshake().publicKey,
    });

    expect(response.status).toBe(401);
    expect(response.json.code).toBe('credentials_invalid');
    expect(response.json.title).toBe('The username or password is wrong.');
  });

  it('blocks a username after repeated failures', async () => {
    for (let i = 0; i < 3; i += 1) {
      await login({
        username: 'victim',
        password: `guess-${i}`,
        clientPublicKey: createClientHandshake().publicKey,
      });
    }
    const blocked = await login({
      username: 'victim',
      password: 'guess',
      clientPublicKey: createClientHandshake().publicKey,
    });

    expect(blocked.status).toBe(429);
    expect(blocked.json.code).toBe('login_rate_limited');
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
  });

  const badBodies: Array<[string, unknown, string]> = [
    [
      'a point off the curve',
      {
        username: 'alice',
        password: TEST_PASSWORD,
        clientPublicKey: Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 1)]).toString(
          'base64url',
        ),
      },
      'handshake_invalid',
    ],
    [
      'a compressed point',
      { username: 'alice', password: TEST_PASSWORD, clientPublicKey: 'A'.repeat(44) },
      'handshake_invalid',
    ],
    ['a missing key', { username: 'alice', password: TEST_PASSWORD }, 'handshake_invalid'],
    [
      'a numeric username',
      { username: 42, password: TEST_PASSWORD, clientPublicKey: 'x' },
      'request_malformed',
    ],
    [
      'an unknown client kind',
      {
        username: 'alice',
        password: TEST_PASSWORD,
        clientPublicKey: createClientHandshake().publicKey,
        client: 'robot',
      },
      'request_malformed',
    ],
  ];
  for (const [what, body, code] of badBodies) {
    it(`rejects ${what} with ${code}`, async () => {
      const response = await login(body as Record<string, unknown>);
      expect(response.status).toBe(400);
      expect(response.json.code).toBe(code);
    });
  }

  it('rejects a body that is not JSON', async () => {
    const response = await sendRaw(harness.url, {
      method: 'POST',
      target: '/auth/login',
      headers: [['content-type', 'application/json']],
      body: '{not json',
    });

    expect(response.status).toBe(400);
    expect(response.json.code).toBe('request_malformed');
  });

  it('rejects a login from a foreign Origin', async () => {
    const response = await login(
      {
        username: 'alice',
        password: TEST_PASSWORD,
        clientPublicKey: createClientHandshake().publicKey,
      },
      [['origin', 'https://evil.example']],
    );

    expect(response.status).toBe(403);
    expect(response.json.code).toBe('origin_rejected');
  });
});

describe('refresh and logout', () => {
  it('refresh issues a new token for the same session and key', async () => {
    const session = await loginSession(harness.url, 'alice', TEST_PASSWORD);
    const response = await sendSigned(harness.url, session, {
      method: 'POST',
      target: '/auth/refresh',
      body: '{}',
      idempotencyKey: null,
    });

    expect(response.status).toBe(200);
    const token = response.json.token as string;
    expect(token).not.toBe(session.token);
    const claims = await openSessionToken(
      token,
      harness.keys.tokens,
      Math.floor(Date.now() / 1000),
    );
    expect(claims.sid).toBe(session.sessionId);

    const next = await sendSigned(
      harness.url,
      { ...session, token },
      { method: 'GET', target: '/api/items' },
    );
    expect(next.status).toBe(200);
  });

  it('refresh never extends past the absolute session expiry', async () => {
    const session = await loginSession(harness.url, 'alice', TEST_PASSWORD);
    const response = await sendSigned(harness.url, session, {
      method: 'POST',
      target: '/auth/refresh',
      body: '{}',
      idempotencyKey: null,
    });

    expect(response.json.expiresAt as number).toBeLessThanOrEqual(
      response.json.sessionExpiresAt as number,
    );
    expect(response.json.sessionExpiresAt).toBe(session.login.sessionExpiresAt);
  });

  it('an unsigned refresh is rejected', async () => {
    const session = await loginSession(harness.url, 'alice', TEST_PASSWORD);
    const response = await sendRaw(harness.url, {
      method: 'POST',
      target: '/auth/refresh',
      headers: [
        ['authorization', `Bearer ${session.token}`],
        ['content-type', 'application/json'],
      ],
      body: '{}',
    });

    expect(response.status).toBe(401);
    expect(response.json.code).toBe('signature_missing');
  });

  it('logout revokes tokens issued by refresh too', async () => {
    const session = await loginSession(harness.url, 'alice', TEST_PASSWORD);
    const refreshed = await sendSigned(harness.url, session, {
      method: 'POST',
      target: '/auth/refresh',
      body: '{}',
      idempotencyKey: null,
    });
    const logout = await sendSigned(harness.url, session, {
      method: 'POST',
      target: '/auth/logout',
      body: '{}',
      idempotencyKey: null,
    });
    expect(logout.status).toBe(200);

    const after = await sendSigned(
      harness.url,
      { ...session, token: refreshed.json.token as string },
      { method: 'GET', target: '/api/items' },
    );
    expect(after.status).toBe(401);
    expect(after.json.code).toBe('session_revoked');
  });
});
