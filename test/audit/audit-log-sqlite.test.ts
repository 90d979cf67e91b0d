import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, renameSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import {
  computeEntryHash,
  deriveAuditKeyId,
  GENESIS_HASH,
  SqliteAuditLog,
  verifyAuditTrail,
  verifyCheckpointSignature,
  type AuditEntryInput,
} from '../../src/audit/index.js';
import { RampartError } from '../../src/errors.js';
import { appendRequests, createAuditKeys, createTempDir, requestInput } from './fixtures.js';

interface CheckpointRow {
  seq: number;
  hash: string;
  key_id: string;
  signature: string;
  created_at: string;
  version: number;
}

let tempDir: ReturnType<typeof createTempDir>;
let file: string;

beforeEach(() => {
  tempDir = createTempDir();
  file = join(tempDir.path, 'audit.db');
});

afterEach(() => {
  tempDir.remove();
});

function readCheckpoints(path: string): CheckpointRow[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare('SELECT * FROM audit_checkpoints ORDER BY seq').all() as CheckpointRow[];
  } finally {
    db.close();
  }
}

describe('SqliteAuditLog append', () => {
  it('commits appends accepted before close', async () => {
    const log = new SqliteAuditLog({ file });
    const pending = [log.append(requestInput(1)), log.append(requestInput(2))];
    await log.close();

    const entries = await Promise.all(pending);
    expect(entries.map((entry) => entry.seq)).toEqual([1, 2]);
    const db = new Database(file, { readonly: true });
    const count = db.prepare('SELECT count(*) AS n FROM audit_entries').get() as { n: number };
    db.close();
    expect(count.n).toBe(2);
  });

  it('commits a burst of appends in a few transactions', async () => {
    const log = new SqliteAuditLog({ file });
    await log.append(requestInput(0));
    const before = statSync(`${file}-wal`).size;

    await Promise.all(Array.from({ length: 200 }, (_, i) => log.append(requestInput(i + 1))));

    // Each commit appends at least one 4 KiB page to the WAL, so 200 separate commits would
    // add 800 KiB or more; a group commit writes each page of the batch once.
    expect(statSync(`${file}-wal`).size - before).toBeLessThan(400 * 1024);
    await log.close();
  });

  it('starts the chain at the genesis hash', async () => {
    const log = new SqliteAuditLog({ file });
    const entry = await log.append(requestInput(1));
    await log.close();

    expect(entry.seq).toBe(1);
    expect(entry.prevHash).toBe(GENESIS_HASH);
    expect(entry.hash).toBe(computeEntryHash(entry));
    expect(entry.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('links each entry to the previous hash', async () => {
    const log = new SqliteAuditLog({ file });
    const first = await log.append(requestInput(1));
    const second = await log.append(requestInput(2));
    await log.close();

    expect(second.seq).toBe(2);
    expect(second.prevHash).toBe(first.hash);
  });

  it('stamps time as ISO 8601 UTC with milliseconds', async () => {
    const log = new SqliteAuditLog({ file });
    const entry = await log.append(requestInput(1));
    await log.close();

    expect(entry.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  it('returns the input fields it stored', async () => {
    const input = requestInput(5);
    const log = new SqliteAuditLog({ file });
    const entry = await log.append(input);
    await log.close();

    expect(entry).toMatchObject(input);
  });

  it('drops properties that are not audit fields', async () => {
    const input = { ...requestInput(1), body: '{"amount":"100.00"}' } as AuditEntryInput;
    const log = new SqliteAuditLog({ file });
    const entry = await log.append(input);
    await log.close();

    expect(entry).not.toHaveProperty('body');
  });

  it('stores an entry with only event and outcome', async () => {
    const log = new SqliteAuditLog({ file });
    const entry = await log.append({ event: 'logout', outcome: 'success' });
    await log.close();

    expect(entry.code).toBeUndefined();
    expect(verifyAuditTrail({ file }).ok).toBe(true);
  });

  it('commits the entry before append resolves', async () => {
    const log = new SqliteAuditLog({ file });
    const entry = await log.append(requestInput(1));

    const reader = new Database(file, { readonly: true });
    const row = reader.prepare('SELECT hash FROM audit_entries WHERE seq = ?').get(entry.seq) as
      { hash: string } | undefined;
    reader.close();
    await log.close();

    expect(row?.hash).toBe(entry.hash);
  });

  it('stores the file in WAL mode', async () => {
    const log = new SqliteAuditLog({ file });
    await log.append(requestInput(1));

    const reader = new Database(file, { readonly: true });
    const journalMode: unknown = reader.pragma('journal_mode', { simple: true });
    reader.close();
    await log.close();

    expect(journalMode).toBe('wal');
  });

  it('builds a gap-free chain from 50 concurrent appends', async () => {
    const log = new SqliteAuditLog({ file });
    const inputs = Array.from({ length: 50 }, (_, index) => requestInput(index + 1));
    const entries = await Promise.all(inputs.map((input) => log.append(input)));
    await log.close();

    const seqs = entries.map((entry) => entry.seq).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 50 }, (_, index) => index + 1));
    expect(verifyAuditTrail({ file })).toMatchObject({ ok: true, entries: 50 });
  });

  it('continues the chain after reopening the file', async () => {
    const first = new SqliteAuditLog({ file });
    await appendRequests(first, 3);
    const last = await first.append(requestInput(4));
    await first.close();

    const second = new SqliteAuditLog({ file });
    const next = await second.append(requestInput(5));
    await second.close();

    expect(next.seq).toBe(5);
    expect(next.prevHash).toBe(last.hash);
    expect(verifyAuditTrail({ file })).toMatchObject({ ok: true, entries: 5 });
  });

  it('keeps one chain when two logs share a file', async () => {
    const a = new SqliteAuditLog({ file });
    const b = new SqliteAuditLog({ file });
    await Promise.all([appendRequests(a, 10, 1), appendRequests(b, 10, 11)]);
    await a.close();
    await b.close();

    expect(verifyAuditTrail({ file })).toMatchObject({ ok: true, entries: 20 });
  });
});

describe('SqliteAuditLog checkpoints', () => {
  it('writes a checkpoint every N entries', async () => {
    const { privateKey } = createAuditKeys();
    const log = new SqliteAuditLog({ file, signingKey: privateKey, checkpointEvery: 10 });
    await appendRequests(log, 25);

    const seqs = readCheckpoints(file).map((row) => row.seq);
    await log.close();

    expect(seqs).toEqual([10, 20]);
  });

  it('checkpoints pending entries on close', async () => {
    const { privateKey } = createAuditKeys();
    const log = new SqliteAuditLog({ file, signingKey: privateKey, checkpointEvery: 10 });
    await appendRequests(log, 25);
    await log.close();

    const seqs = readCheckpoints(file).map((row) => row.seq);
    expect(seqs).toEqual([10, 20, 25]);
  });

  it('writes no checkpoint on close when none is pending', async () => {
    const { privateKey } = createAuditKeys();
    const log = new SqliteAuditLog({ file, signingKey: privateKey, checkpointEvery: 10 });
    await appendRequests(log, 20);
    await log.close();

    const seqs = readCheckpoints(file).map((row) => row.seq);
    expect(seqs).toEqual([10, 20]);
  });

  it('writes no checkpoint on close of an empty log', async () => {
    const { privateKey } = createAuditKeys();
    const log = new SqliteAuditLog({ file, signingKey: privateKey });
    await log.close();

    expect(readCheckpoints(file)).toEqual([]);
  });

  it('counts from the last checkpoint after reopening', async () => {
    const { privateKey } = createAuditKeys();
    const first = new SqliteAuditLog({ file, signingKey: privateKey, checkpointEvery: 10 });
    await appendRequests(first, 7);
    await first.close();

    const second = new SqliteAuditLog({ file, signingKey: privateKey, checkpointEvery: 10 });
    await appendRequests(second, 10, 8);

    const seqs = readCheckpoints(file).map((row) => row.seq);
    await second.close();

    expect(seqs).toEqual([7, 17]);
  });

  it('writes no checkpoints without a signing key', async () => {
    const log = new SqliteAuditLog({ file, checkpointEvery: 2 });
    await appendRequests(log, 5);
    await log.close();

    expect(readCheckpoints(file)).toEqual([]);
  });

  it('signs the checkpoint over seq, hash and time', async () => {
    const { privateKey, publicKey } = createAuditKeys();
    const log = new SqliteAuditLog({ file, signingKey: privateKey, checkpointEvery: 3 });
    await appendRequests(log, 2);
    const third = await log.append(requestInput(3));
    await log.close();

    const [checkpoint] = readCheckpoints(file);
    const signature = checkpoint?.signature ?? '';
    const createdAt = checkpoint?.created_at ?? '';
    expect(checkpoint?.seq).toBe(3);
    expect(checkpoint?.hash).toBe(third.hash);
    expect(checkpoint?.version).toBe(2);
    expect(verifyCheckpointSignature(3, third.hash, signature, publicKey, createdAt)).toBe(true);
    expect(verifyCheckpointSignature(3, third.hash, signature, publicKey)).toBe(false);
  });

  it('derives the key id from the public key by default', async () => {
    const { privateKey, publicKey } = createAuditKeys();
    const log = new SqliteAuditLog({ file, signingKey: privateKey, checkpointEvery: 1 });
    await log.append(requestInput(1));
    await log.close();

    expect(readCheckpoints(file)[0]?.key_id).toBe(deriveAuditKeyId(publicKey));
  });

  it('stores the configured key id', async () => {
    const { privateKey } = createAuditKeys();
    const options = { file, signingKey: privateKey, keyId: 'audit-2025', checkpointEvery: 1 };
    const log = new SqliteAuditLog(options);
    await log.append(requestInput(1));
    await log.close();

    expect(readCheckpoints(file)[0]?.key_id).toBe('audit-2025');
  });
});

describe('SqliteAuditLog errors', () => {
  it('rejects append after close with store_unavailable', async () => {
    const log = new SqliteAuditLog({ file });
    await log.close();

    const error: unknown = await log.append(requestInput(1)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RampartError);
    expect(error).toHaveProperty('code', 'store_unavailable');
    expect(error).toHaveProperty('status', 503);
  });

  it('rejects append when the WAL cannot be synced', async () => {
    const log = new SqliteAuditLog({ file });
    // SQLite keeps writing to the WAL file it opened, now under another name, while the path
    // the log opens for its fsync names a directory.
    renameSync(`${file}-wal`, `${file}-wal-moved`);
    mkdirSync(`${file}-wal`);

    const error: unknown = await log.append(requestInput(1)).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(RampartError);
    expect(error).toHaveProperty('code', 'store_unavailable');
    rmdirSync(`${file}-wal`);
    renameSync(`${file}-wal-moved`, `${file}-wal`);
    await log.close();
  });

  it('creates its files readable by the owner only', async () => {
    const log = new SqliteAuditLog({ file });
    await log.append(requestInput(1));

    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(`${file}-wal`).mode & 0o777).toBe(0o600);
    await log.close();
  });

  it('fails closed once the open WAL file is removed', async () => {
    const log = new SqliteAuditLog({ file });
    await log.append(requestInput(1));
    rmSync(`${file}-wal`);

    const error: unknown = await log.append(requestInput(2)).catch((caught: unknown) => caught);

    expect(error).toHaveProperty('code', 'store_unavailable');
    await expect(log.ping()).rejects.toMatchObject({ code: 'store_unavailable' });
    await log.close();
  });

  it('resolves ping while open', async () => {
    const log = new SqliteAuditLog({ file });
    await expect(log.ping()).resolves.toBeUndefined();
    await log.close();
  });

  it('rejects ping after close with store_unavailable', async () => {
    const log = new SqliteAuditLog({ file });
    await log.close();

    await expect(log.ping()).rejects.toMatchObject({ code: 'store_unavailable' });
  });

  it('ignores a second close', async () => {
    const log = new SqliteAuditLog({ file });
    await log.close();

    await expect(log.close()).resolves.toBeUndefined();
  });

  it('rejects an unknown event with a TypeError', async () => {
    const log = new SqliteAuditLog({ file });
    const input = { event: 'delete', outcome: 'allowed' } as unknown as AuditEntryInput;
    const result = log.append(input);
    await expect(result).rejects.toThrow(TypeError);
    await expect(result).rejects.toThrow('"event"');
    await log.close();
  });

  it('rejects an unknown outcome with a TypeError', async () => {
    const log = new SqliteAuditLog({ file });
    const input = { event: 'request', outcome: 'maybe' } as unknown as AuditEntryInput;
    await expect(log.append(input)).rejects.toThrow('"outcome"');
    await log.close();
  });

  it('rejects a non-string field with a TypeError', async () => {
    const log = new SqliteAuditLog({ file });
    const input = { ...requestInput(1), path: 42 } as unknown as AuditEntryInput;
    await expect(log.append(input)).rejects.toThrow('"path" must be a string');
    await log.close();
  });

  it('rejects an upstream status outside 100 to 599', async () => {
    const log = new SqliteAuditLog({ file });
    await expect(log.append({ ...requestInput(1), upstreamStatus: 42 })).rejects.toThrow(
      '"upstreamStatus"',
    );
    await log.close();
  });

  it('rejects a negative or non-finite latency', async () => {
    const log = new SqliteAuditLog({ file });
    await expect(log.append({ ...requestInput(1), latencyMs: -1 })).rejects.toThrow('"latencyMs"');
    await expect(log.append({ ...requestInput(1), latencyMs: NaN })).rejects.toThrow('"latencyMs"');
    await log.close();
  });

  it('stores nothing for a rejected input', async () => {
    const log = new SqliteAuditLog({ file });
    await log.append({ ...requestInput(1), upstreamStatus: 0 }).catch(() => undefined);
    await log.close();

    expect(verifyAuditTrail({ file })).toMatchObject({ ok: true, entries: 0 });
  });

  it('rejects an RSA signing key', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    expect(() => new SqliteAuditLog({ file, signingKey: privateKey })).toThrow(
      'Option "signingKey" must be an Ed25519 private KeyObject; received: rsa private key.',
    );
  });

  it('rejects a public key as signing key', () => {
    const { publicKey } = createAuditKeys();
    expect(() => new SqliteAuditLog({ file, signingKey: publicKey })).toThrow(TypeError);
  });

  it('rejects a key id without a signing key', () => {
    expect(() => new SqliteAuditLog({ file, keyId: 'audit-1' })).toThrow(
      '"keyId" requires "signingKey"',
    );
  });

  it('rejects a checkpoint interval below 1', () => {
    expect(() => new SqliteAuditLog({ file, checkpointEvery: 0 })).toThrow('"checkpointEvery"');
  });

  it('rejects a fractional checkpoint interval', () => {
    expect(() => new SqliteAuditLog({ file, checkpointEvery: 2.5 })).toThrow('"checkpointEvery"');
  });

  it('names the file it cannot open', () => {
    const missingDir = join(tempDir.path, 'missing', 'audit.db');
    expect(() => new SqliteAuditLog({ file: missingDir })).toThrow(missingDir);
  });
});
