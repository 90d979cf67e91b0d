import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import {
  computeEntryHash,
  GENESIS_HASH,
  signCheckpoint,
  SqliteAuditLog,
  verifyAuditTrail,
  type AuditEntry,
  type AuditVerifyResult,
} from '../../src/audit/index.js';
import { rowToEntry, type AuditEntryRow } from '../../src/audit/sqlite-schema.js';
import { appendRequests, createAuditKeys, createTempDir } from './fixtures.js';

let tempDir: ReturnType<typeof createTempDir>;
let file: string;
const keys = createAuditKeys();

beforeEach(() => {
  tempDir = createTempDir();
  file = join(tempDir.path, 'audit.db');
});

afterEach(() => {
  tempDir.remove();
});

/** Writes `count` entries with a checkpoint every `checkpointEvery` and one on close. */
async function writeTrail(count: number, checkpointEvery = 10): Promise<void> {
  const log = new SqliteAuditLog({ file, signingKey: keys.privateKey, checkpointEvery });
  await appendRequests(log, count);
  await log.close();
}

/** Returns the failed result, or throws when verification succeeded. */
function failureOf(result: AuditVerifyResult): Extract<AuditVerifyResult, { ok: false }> {
  if (result.ok)
    throw new Error(`Expected a failed verification; received ${JSON.stringify(result)}.`);
  return result;
}

/** Runs `sql` against the log file through a separate read-write connection. */
function tamper(sql: string, ...params: unknown[]): void {
  const db = new Database(file);
  try {
    db.prepare(sql).run(...params);
  } finally {
    db.close();
  }
}

describe('verifyAuditTrail', () => {
  it('accepts a chain of many entries', async () => {
    await writeTrail(500, 100);

    const result = verifyAuditTrail({ file, publicKey: keys.publicKey });
    expect(result).toMatchObject({ ok: true, entries: 500, checkpoints: 5 });
  });

  it('returns the hash of the last entry', async () => {
    const log = new SqliteAuditLog({ file });
    await appendRequests(log, 4);
    const last = await log.append({ event: 'logout', outcome: 'success' });
    await log.close();

    expect(verifyAuditTrail({ file })).toMatchObject({ ok: true, lastHash: last.hash });
  });

  it('accepts an empty trail', async () => {
    await writeTrail(0);

    expect(verifyAuditTrail({ file })).toEqual({
      ok: true,
      entries: 0,
      checkpoints: 0,
      lastHash: GENESIS_HASH,
    });
  });

  it('accepts a trail while a log still has it open', async () => {
    const log = new SqliteAuditLog({ file, signingKey: keys.privateKey, checkpointEvery: 5 });
    await appendRequests(log, 12);

    const result = verifyAuditTrail({ file, publicKey: keys.publicKey });
    await log.close();

    expect(result).toMatchObject({ ok: true, entries: 12 });
  });

  it('names the entry whose column was changed', async () => {
    await writeTrail(50);
    tamper("UPDATE audit_entries SET path = '/api/accounts/999/payments' WHERE seq = 17");

    expect(verifyAuditTrail({ file, publicKey: keys.publicKey })).toEqual({
      ok: false,
      seq: 17,
      reason: 'hash does not match the entry contents',
      entries: 16,
      at: 'entry',
    });
  });

  it.each([
    ['time', "'2020-01-01T00:00:00.000Z'"],
    ['event', "'login'"],
    ['outcome', "'rejected'"],
    ['code', "'session_revoked'"],
    ['subject', "'mallory'"],
    ['session_id', "'session-x'"],
    ['request_id', "'request-x'"],
    ['method', "'GET'"],
    ['body_digest', "'sha-256=:AAAA:'"],
    ['client_address', "'10.0.0.1'"],
    ['service', "'ledger'"],
    ['upstream_status', '500'],
    ['latency_ms', '1'],
  ])('detects a change to column %s', async (column, value) => {
    await writeTrail(10);
    tamper(`UPDATE audit_entries SET ${column} = ${value} WHERE seq = 4`);

    const result = failureOf(verifyAuditTrail({ file }));
    expect(result.seq).toBe(4);
  });

  it('names the entry whose prev_hash was changed', async () => {
    await writeTrail(10);
    tamper('UPDATE audit_entries SET prev_hash = ? WHERE seq = 6', 'f'.repeat(64));

    const result = failureOf(verifyAuditTrail({ file }));
    expect(result.seq).toBe(6);
    expect(result.reason).toBe('prev_hash does not link to entry 5');
  });

  it('names the first entry when its prev_hash is not genesis', async () => {
    await writeTrail(3);
    tamper('UPDATE audit_entries SET prev_hash = ? WHERE seq = 1', 'f'.repeat(64));

    const result = failureOf(verifyAuditTrail({ file }));
    expect(result.seq).toBe(1);
    expect(result.reason).toMatch(/genesis/);
  });

  it('names the next entry after a re-hashed entry', async () => {
    await writeTrail(10, 100);
    const db = new Database(file);
    const row = db.prepare('SELECT * FROM audit_entries WHERE seq = 3').get() as {
      time: string;
      prev_hash: string;
    };
    const forged: Omit<AuditEntry, 'hash'> = {
      seq: 3,
      time: row.time,
      event: 'request',
      outcome: 'allowed',
      prevHash: row.prev_hash,
    };
    db.prepare('DELETE FROM audit_entries WHERE seq = 3').run();
    db.prepare(
      `INSERT INTO audit_entries (seq, time, event, outcome, prev_hash, hash)
       VALUES (3, ?, 'request', 'allowed', ?, ?)`,
    ).run(row.time, row.prev_hash, computeEntryHash(forged));
    db.close();

    const result = failureOf(verifyAuditTrail({ file }));
    expect(result.seq).toBe(4);
    expect(result.reason).toBe('prev_hash does not link to entry 3');
  });

  it('detects a deleted middle entry', async () => {
    await writeTrail(30);
    tamper('DELETE FROM audit_entries WHERE seq = 12');

    expect(verifyAuditTrail({ file, publicKey: keys.publicKey })).toEqual({
      ok: false,
      seq: 12,
      reason: 'entry 12 is missing',
      entries: 11,
      at: 'entry',
    });
  });

  it('detects a tail deleted past a checkpoint', async () => {
    await writeTrail(25);
    tamper('DELETE FROM audit_entries WHERE seq > 15');

    const result = failureOf(verifyAuditTrail({ file, publicKey: keys.publicKey }));
    expect(result.seq).toBe(16);
    expect(result.reason).toMatch(/^entry 16 is missing/);
    expect(result.reason).toMatch(/checkpoint covers entry 20/);
    expect(result.entries).toBe(15);
  });

  it('detects a forged checkpoint signature', async () => {
    await writeTrail(30);
    const reader = new Database(file, { readonly: true });
    const checkpoint = reader
      .prepare('SELECT seq, hash FROM audit_checkpoints WHERE seq = 20')
      .get() as {
      seq: number;
      hash: string;
    };
    reader.close();
    const otherKeys = createAuditKeys();
    const forged = signCheckpoint(checkpoint.seq, checkpoint.hash, otherKeys.privateKey);
    tamper('UPDATE audit_checkpoints SET signature = ? WHERE seq = 20', forged);

    const result = failureOf(verifyAuditTrail({ file, publicKey: keys.publicKey }));
    expect(result.seq).toBe(20);
    expect(result.reason).toMatch(/^checkpoint signature for entry 20 is invalid/);
  });

  it('detects a malformed checkpoint signature', async () => {
    await writeTrail(10);
    tamper("UPDATE audit_checkpoints SET signature = 'not base64!' WHERE seq = 10");

    const result = failureOf(verifyAuditTrail({ file, publicKey: keys.publicKey }));
    expect(result.seq).toBe(10);
  });

  it('skips signature checks without a public key', async () => {
    await writeTrail(10);
    tamper("UPDATE audit_checkpoints SET signature = 'AAAA' WHERE seq = 10");

    expect(verifyAuditTrail({ file })).toMatchObject({ ok: true, checkpoints: 1 });
  });

  it('detects a checkpoint whose hash differs from its entry', async () => {
    await writeTrail(20);
    tamper('UPDATE audit_checkpoints SET hash = ? WHERE seq = 10', 'a'.repeat(64));

    const result = failureOf(verifyAuditTrail({ file }));
    expect(result.seq).toBe(10);
    expect(result.reason).toBe('checkpoint hash does not match the hash of entry 10');
  });

  it('detects a chain rewritten up to a checkpoint', async () => {
    await writeTrail(10);
    const db = new Database(file);
    const rows = db.prepare('SELECT * FROM audit_entries ORDER BY seq').all() as AuditEntryRow[];
    const update = db.prepare(
      'UPDATE audit_entries SET path = ?, prev_hash = ?, hash = ? WHERE seq = ?',
    );
    let prevHash = GENESIS_HASH;
    for (const row of rows) {
      const entry = { ...rowToEntry(row), prevHash };
      if (entry.seq === 3) entry.path = '/api/accounts/999/payments';
      const hash = computeEntryHash(entry);
      update.run(entry.path, prevHash, hash, entry.seq);
      prevHash = hash;
    }
    db.close();

    const result = failureOf(verifyAuditTrail({ file, publicKey: keys.publicKey }));
    expect(result.seq).toBe(10);
    expect(result.reason).toBe('checkpoint hash does not match the hash of entry 10');
  });

  it('throws for a missing file and names the path', () => {
    const missing = join(tempDir.path, 'missing.db');
    expect(() => verifyAuditTrail({ file: missing })).toThrow(
      `Audit log file not found: ${missing}`,
    );
  });

  it('throws for a SQLite file without audit tables', () => {
    const db = new Database(file);
    db.exec('CREATE TABLE other (id INTEGER)');
    db.close();

    expect(() => verifyAuditTrail({ file })).toThrow(
      `${file} is not a Rampart audit log: table audit_entries is missing.`,
    );
  });

  it('throws for a file that is not SQLite', () => {
    writeFileSync(file, 'plain text, not a database');

    expect(() => verifyAuditTrail({ file })).toThrow(file);
  });

  it('rejects a private key as public key', async () => {
    await writeTrail(1);

    expect(() => verifyAuditTrail({ file, publicKey: keys.privateKey })).toThrow(TypeError);
  });
});
