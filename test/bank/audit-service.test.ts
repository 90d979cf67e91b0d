import { join } from 'node:path';

import Database from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createAuditService } from '../../examples/bank/audit/audit-service.js';
import type { HopKeyId } from '../../examples/bank/services.js';
import { SqliteAuditLog } from '../../src/audit/index.js';
import { hmacKey } from '../../src/signature/algorithms.js';
import { listeningAuthority } from '../../src/service/index.js';
import { createAuditKeys, requestInput } from '../audit/fixtures.js';
import { problemCode, send, signedRequest, type WireResponse } from '../service/helpers.js';
import { createTempDir, credentialsFor, identityFor, newHopKeys } from './fixtures.js';

const keys = newHopKeys();
const auditKeys = createAuditKeys();
const dataDir = createTempDir();
const auditFile = join(dataDir.path, 'audit.sqlite');
let service: FastifyInstance;
let origin: string;

function get(
  target: string,
  userId = 'u-aude',
  keyid: HopKeyId = 'gateway-audit',
): Promise<WireResponse> {
  return send(
    signedRequest({
      method: 'GET',
      origin,
      target,
      identity: identityFor(userId),
      credentials: credentialsFor(keys, keyid),
    }),
  );
}

beforeAll(async () => {
  const log = new SqliteAuditLog({
    file: auditFile,
    signingKey: auditKeys.privateKey,
    checkpointEvery: 4,
  });
  for (let index = 1; index <= 10; index += 1) await log.append(requestInput(index));
  await log.append({ event: 'login', outcome: 'failure', code: 'credentials_invalid' });
  await log.close();

  service = createAuditService({
    auditFile,
    auditPublicKey: auditKeys.publicKey,
    callers: { 'gateway-audit': { caller: 'gateway', key: hmacKey(keys['gateway-audit']) } },
  });
  await service.listen({ host: '127.0.0.1', port: 0 });
  origin = `http://${listeningAuthority(service.server)}`;
});

afterAll(async () => {
  await service.close();
  dataDir.remove();
});

describe('audit service', () => {
  it('lists the latest entries newest first', async () => {
    const response = await get('/api/audit/entries?limit=3');

    expect(response.status).toBe(200);
    const entries = (response.body as { entries: Array<Record<string, unknown>> }).entries;
    expect(entries.map((entry) => entry.seq)).toEqual([11, 10, 9]);
    expect(entries[0]).toMatchObject({
      event: 'login',
      outcome: 'failure',
      code: 'credentials_invalid',
    });
    expect(entries[1]).toMatchObject({
      event: 'request',
      outcome: 'rejected',
      code: 'nonce_replayed',
      subject: 'user-1',
      method: 'POST',
      path: '/api/accounts/10/payments',
    });
    expect(entries[1]).not.toHaveProperty('bodyDigest');
  });

  it('verifies an intact chain with its checkpoints', async () => {
    const response = await get('/api/audit/verify');

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ ok: true, entries: 11, checkpoints: 3 });
  });

  it('counts allowed and rejected calls per minute', async () => {
    const response = await get('/api/audit/activity?minutes=5');

    expect(response.status).toBe(200);
    const { bucketSeconds, buckets } = response.body as {
      bucketSeconds: number;
      buckets: Array<{ start: string; allowed: number; rejected: number }>;
    };
    expect(bucketSeconds).toBe(60);
    expect(buckets).toHaveLength(5);
    const allowed = buckets.reduce((sum, bucket) => sum + bucket.allowed, 0);
    const rejected = buckets.reduce((sum, bucket) => sum + bucket.rejected, 0);
    expect(allowed).toBe(8);
    expect(rejected).toBe(2);
  });

  it('requires audit:read', async () => {
    const response = await get('/api/audit/entries', 'u-alice');

    expect(response.status).toBe(403);
    expect(problemCode(response)).toBe('permission_denied');
  });

  it('rejects a caller other than the gateway', async () => {
    const response = await get('/api/audit/entries', 'u-aude', 'gateway-accounts');

    expect(response.status).toBe(401);
    expect(problemCode(response)).toBe('caller_unknown');
  });

  it('rejects an invalid limit', async () => {
    const response = await get('/api/audit/entries?limit=501');

    expect(response.status).toBe(400);
    expect(problemCode(response)).toBe('request_malformed');
  });

  it('names the first changed entry', async () => {
    const db = new Database(auditFile);
    db.prepare("UPDATE audit_entries SET subject = 'u-mallory' WHERE seq = 6").run();
    db.close();

    const response = await get('/api/audit/verify');

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ ok: false, seq: 6, entries: 5 });
  });

  it('answers 503 when the log file is missing', async () => {
    const missing = createAuditService({
      auditFile: join(dataDir.path, 'missing.sqlite'),
      callers: { 'gateway-audit': { caller: 'gateway', key: hmacKey(keys['gateway-audit']) } },
    });
    await missing.listen({ host: '127.0.0.1', port: 0 });
    origin = `http://${listeningAuthority(missing.server)}`;
    try {
      const response = await get('/api/audit/entries');

      expect(response.status).toBe(503);
      expect(problemCode(response)).toBe('store_unavailable');
    } finally {
      await missing.close();
      origin = `http://${listeningAuthority(service.server)}`;
    }
  });
});
