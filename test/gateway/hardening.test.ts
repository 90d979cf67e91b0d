import { statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { RampartClient } from '../../src/client/rampart-client.js';
import {
  startGatewayHarness,
  TEST_PASSWORD,
  type GatewayHarness,
} from '../helpers/gateway-harness.js';
import { sendRaw } from '../helpers/raw-http.js';
import { loginSession, sendSigned, type TestSession } from '../helpers/signing-session.js';

let harness: GatewayHarness;
let session: TestSession;

beforeAll(async () => {
  harness = await startGatewayHarness();
  session = await loginSession(harness.url, 'alice', TEST_PASSWORD);
});

afterAll(async () => {
  await harness.close();
});

function rawExchange(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    let data = '';
    socket.on('data', (chunk) => (data += chunk.toString()));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
}

describe('gateway hardening', () => {
  it('does not sign the answer to a replayed request', async () => {
    let captured: { target: string; headers: Array<[string, string]>; method: string } | undefined;
    const first = await sendSigned(harness.url, session, {
      method: 'GET',
      target: '/api/items',
      after: (r) => void (captured = r),
    });
    const replay = await sendRaw(harness.url, captured!);

    expect(first.headers.signature).toBeDefined();
    expect(replay.json.code).toBe('nonce_replayed');
    expect(replay.headers.signature).toBeUndefined();
  });

  it('does not sign the answer to a request whose MAC failed', async () => {
    const response = await sendSigned(harness.url, session, {
      method: 'GET',
      target: '/api/items/1',
      after: (r) => void (r.target = '/api/items/2'),
    });

    expect(response.json.code).toBe('signature_invalid');
    expect(response.headers.signature).toBeUndefined();
  });

  it('marks API answers and problems as not cacheable', async () => {
    const ok = await sendSigned(harness.url, session, { method: 'GET', target: '/api/items' });
    const problem = await sendRaw(harness.url, { method: 'GET', target: '/api/items' });

    for (const response of [ok, problem]) {
      expect(response.headers['cache-control']).toBe('no-store');
      expect(response.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  it('rejects a repeated Host line', async () => {
    const response = await sendRaw(harness.url, {
      method: 'GET',
      target: '/api/items',
      headers: [
        ['host', `127.0.0.1:${harness.port}`],
        ['host', 'evil.example'],
      ],
    });

    expect(response.status).toBe(400);
    expect(response.json.code).toBe('request_malformed');
    expect(response.json.field).toBe('host');
  });

  it('answers HTTP parser errors in the problem format', async () => {
    const raw = await rawExchange(
      harness.port,
      `POST /api/items HTTP/1.1\r\nHost: 127.0.0.1:${harness.port}\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}`,
    );

    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(raw).toContain('content-type: application/problem+json');
    expect(raw).toContain('"code":"request_malformed"');
  });

  it('replaces an upstream server error with upstream_error', async () => {
    harness.upstream.respond(() => ({
      status: 500,
      body: { stack: 'at internal (/srv/secret.js:1)' },
    }));
    try {
      const response = await sendSigned(harness.url, session, {
        method: 'GET',
        target: '/api/items',
      });

      expect(response.status).toBe(502);
      expect(response.json.code).toBe('upstream_error');
      expect(response.body.toString()).not.toContain('secret');
    } finally {
      harness.upstream.respond((call) => ({
        status: 200,
        body: { ok: true, path: call.url, sub: call.identity.sub },
      }));
    }
  });

  it('passes an upstream problem with a registry code and drops its other members', async () => {
    harness.upstream.respond(() => ({
      status: 403,
      body: {
        type: 'x',
        title: 'internal detail',
        status: 403,
        code: 'resource_forbidden',
        debug: 'owner=u-bob',
      },
      headers: { 'content-type': 'application/problem+json' },
    }));
    try {
      const response = await sendSigned(harness.url, session, {
        method: 'GET',
        target: '/api/items/9',
      });

      expect(response.status).toBe(403);
      expect(response.json.code).toBe('resource_forbidden');
      expect(response.json.title).toBe('The caller may not access this resource.');
      expect(response.json.debug).toBeUndefined();
    } finally {
      harness.upstream.respond((call) => ({
        status: 200,
        body: { ok: true, path: call.url, sub: call.identity.sub },
      }));
    }
  });

  it('keeps a typed username out of the audit trail when the user is unknown', async () => {
    const typed = 'my-secret-password-typed-as-username';
    await sendRaw(harness.url, {
      method: 'POST',
      target: '/auth/login',
      headers: [['content-type', 'application/json']],
      body: JSON.stringify({ username: typed, password: 'x', clientPublicKey: 'A'.repeat(87) }),
    });

    const db = new Database(harness.auditFile, { readonly: true });
    const subjects = (
      db.prepare("SELECT subject FROM audit_entries WHERE event = 'login'").all() as Array<{
        subject: string;
      }>
    ).map((row) => row.subject);
    db.close();
    expect(subjects.some((subject) => subject.includes(typed))).toBe(false);
    expect(subjects.some((subject) => /^unknown:[0-9a-f]{16}$/.test(subject))).toBe(true);
  });

  it('creates the user database readable by its owner only', () => {
    expect(statSync(join(harness.dir, 'users.sqlite')).mode & 0o777).toBe(0o600);
  });
});

describe('RampartClient paths', () => {
  it('refuses to send credentials to another origin', async () => {
    const client = new RampartClient({ baseUrl: harness.url });
    await client.login('alice', TEST_PASSWORD);

    for (const path of [
      'http://127.0.0.1:9/steal',
      '//127.0.0.1:9/steal',
      'api/items',
      '/api/../admin',
      '/api/./items',
    ]) {
      await expect(client.fetch(path)).rejects.toMatchObject({ code: 'path_invalid' });
    }
  });
});
