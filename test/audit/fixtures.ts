import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { AuditEntryInput, AuditLog } from '../../src/audit/index.js';

/** Temporary directory for one test's SQLite files, removed by `remove()`. */
export function createTempDir(): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'rampart-audit-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Fresh Ed25519 key pair for signing checkpoints. */
export function createAuditKeys(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ed25519');
}

/**
 * Audit input for the `index`-th request. Every field is set, except that only every fifth
 * request is rejected and has a `code`.
 */
export function requestInput(index: number): AuditEntryInput {
  return {
    event: 'request',
    outcome: index % 5 === 0 ? 'rejected' : 'allowed',
    ...(index % 5 === 0 ? { code: 'nonce_replayed' } : {}),
    subject: `user-${index % 3}`,
    sessionId: `session-${index % 7}`,
    requestId: `request-${index}`,
    method: 'POST',
    path: `/api/accounts/${index}/payments`,
    bodyDigest: 'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:',
    clientAddress: '127.0.0.1',
    service: 'payments',
    upstreamStatus: 201,
    latencyMs: 12.5,
  };
}

/** Appends `count` request entries one after another. */
export async function appendRequests(log: AuditLog, count: number, start = 1): Promise<void> {
  for (let index = start; index < start + count; index += 1) {
    await log.append(requestInput(index));
  }
}
