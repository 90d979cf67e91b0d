import type { KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';

import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  computeEntryHash,
  exportAuditTrail,
  GENESIS_HASH,
  PostgresAuditLog,
  SqliteAuditLog,
  verifyAuditTrail,
  verifyCheckpointSignature,
  type AuditEntryInput,
  type AuditExportLine,
  type AuditLog,
  type AuditTrailSource,
  type AuditVerifyResult,
} from '../../src/audit/index.js';
import { RampartError } from '../../src/errors.js';
import { appendRequests, createAuditKeys, createTempDir, requestInput } from '../audit/fixtures.js';
import { createTestDatabase, type TestDatabase } from '../helpers/stores.js';

/** Options both audit logs take, apart from where they store. */
interface LogOptions {
  signingKey?: KeyObject;
  keyId?: string;
  checkpointEvery?: number;
  checkpointIntervalSeconds?: number;
}

/** A checkpoint row as both stores keep it. */
interface CheckpointRow {
  seq: number;
  hash: string;
  key_id: string;
  signature: string;
  created_at: string;
  version: number;
}

/** One empty trail of one implementation. */
interface Trail {
  open(options?: LogOptions): AuditLog;
  verify(publicKey?: KeyObject): Promise<AuditVerifyResult>;
  /** Runs SQL that both SQLite and PostgreSQL accept, as an insider editing the store would. */
  tamper(sql: string): Promise<void>;
  checkpoints(): Promise<CheckpointRow[]>;
  source(): AuditTrailSource;
  cleanup(): Promise<void>;
}

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database.drop();
});

const implementations: Array<{ name: string; create(): Promise<Trail> }> = [
  {
    name: 'SqliteAuditLog',
    create: async () => {
      const dir = createTempDir();
      const file = join(dir.path, 'audit.sqlite');
      return {
        open: (options = {}) => new SqliteAuditLog({ file, ...options }),
        verify: async (publicKey) => verifyAuditTrail({ file, publicKey }),
        tamper: async (sql) => {
          const db = new Database(file);
          try {
            db.exec(sql);
          } finally {
            db.close();
          }
        },
        checkpoints: async () => {
          const db = new Database(file, { readonly: true });
          try {
            return db
              .prepare('SELECT * FROM audit_checkpoints ORDER BY seq')
              .all() as CheckpointRow[];
          } finally {
            db.close();
          }
        },
        source: () => ({ file }),
        cleanup: async () => dir.remove(),
      };
    },
  },
  {
    name: 'PostgresAuditLog',
    create: async () => {
      await database.pool.query(`TRUNCATE audit_entries, audit_checkpoints;
        UPDATE audit_head SET seq = 0, hash = repeat('0', 64), checkpoint_seq = 0,
          pending_since = NULL`);
      const pool = database.pool;
      return {
        open: (options = {}) => new PostgresAuditLog({ pool, ...options }),
        verify: (publicKey) => verifyAuditTrail({ pool, publicKey }),
        tamper: async (sql) => {
          await pool.query(sql);
        },
        checkpoints: async () => {
          const result = await pool.query<CheckpointRow & { seq: string }>(
            'SELECT * FROM audit_checkpoints ORDER BY seq',
          );
          return result.rows.map((row) => ({ ...row, seq: Number(row.seq) }));
        },
        source: () => ({ pool }),
        cleanup: async () => undefined,
      };
    },
  },
];

const keys = createAuditKeys();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function failureOf(result: AuditVerifyResult): Extract<AuditVerifyResult, { ok: false }> {
  if (result.ok)
    throw new Error(`Expected a failed verification; received ${JSON.stringify(result)}.`);
  return result;
}

describe.each(implementations)('$name (AuditLog contract)', ({ create }) => {
  let trail: Trail;

  beforeEach(async () => {
    trail = await create();
  });

  afterEach(async () => {
    await trail.cleanup();
  });

  async function writeTrail(count: number, checkpointEvery = 10): Promise<void> {
    const log = trail.open({ signingKey: keys.privateKey, checkpointEvery });
    await appendRequests(log, count);
    await log.close();
  }

  it('starts the chain at the genesis hash and links each entry', async () => {
    const log = trail.open();
    const first = await log.append(requestInput(1));
    const second = await log.append(requestInput(2));
    await log.close();

    expect(first.seq).toBe(1);
    expect(first.prevHash).toBe(GENESIS_HASH);
    expect(first.hash).toBe(computeEntryHash(first));
    expect(second.seq).toBe(2);
    expect(second.prevHash).toBe(first.hash);
  });

  it('returns the fields it stored and drops unknown ones', async () => {
    const log = trail.open();
    const input = { ...requestInput(3), body: '{"secret":1}' } as AuditEntryInput;
    const entry = await log.append(input);
    await log.close();

    expect(entry).toMatchObject(requestInput(3));
    expect(entry).not.toHaveProperty('body');
    expect(entry.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  it('builds one gap-free chain from 50 concurrent appends', async () => {
    const log = trail.open();
    const entries = await Promise.all(
      Array.from({ length: 50 }, (_, index) => log.append(requestInput(index + 1))),
    );
    await log.close();

    expect(entries.map((entry) => entry.seq).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 50 }, (_, index) => index + 1),
    );
    expect(await trail.verify()).toMatchObject({ ok: true, entries: 50 });
  });

  it('builds one chain when two logs append at once', async () => {
    const a = trail.open({ signingKey: keys.privateKey, checkpointEvery: 7 });
    const b = trail.open({ signingKey: keys.privateKey, checkpointEvery: 7 });
    await Promise.all([appendRequests(a, 30), appendRequests(b, 30, 100)]);
    await a.close();
    await b.close();

    expect(await trail.verify(keys.publicKey)).toMatchObject({ ok: true, entries: 60 });
    expect((await trail.checkpoints()).map((row) => row.seq).slice(0, 8)).toEqual([
      7, 14, 21, 28, 35, 42, 49, 56,
    ]);
  });

  it('continues the chain after reopening', async () => {
    await writeTrail(5);
    const log = trail.open();
    const next = await log.append(requestInput(6));
    await log.close();

    expect(next.seq).toBe(6);
    expect(await trail.verify(keys.publicKey)).toMatchObject({ ok: true, entries: 6 });
  });

  it('writes a checkpoint every N entries and one on close', async () => {
    await writeTrail(25);

    expect((await trail.checkpoints()).map((row) => row.seq)).toEqual([10, 20, 25]);
  });

  it('signs version 2 checkpoints over seq, hash and time', async () => {
    const log = trail.open({ signingKey: keys.privateKey, keyId: 'audit-k1', checkpointEvery: 3 });
    const entries = [];
    for (let index = 1; index <= 3; index += 1) entries.push(await log.append(requestInput(index)));
    await log.close();

    const [row] = await trail.checkpoints();
    expect(row?.seq).toBe(3);
    expect(row?.hash).toBe(entries[2]?.hash);
    expect(row?.key_id).toBe('audit-k1');
    expect(row?.version).toBe(2);
    expect(
      verifyCheckpointSignature(
        3,
        row?.hash ?? '',
        row?.signature ?? '',
        keys.publicKey,
        row?.created_at,
      ),
    ).toBe(true);
  });

  it('writes a time-based checkpoint with the next append', async () => {
    const log = trail.open({
      signingKey: keys.privateKey,
      checkpointEvery: 1000,
      checkpointIntervalSeconds: 0.2,
    });
    await log.append(requestInput(1));
    expect(await trail.checkpoints()).toEqual([]);

    await sleep(250);
    await log.append(requestInput(2));
    const seqs = (await trail.checkpoints()).map((row) => row.seq);
    await log.close();

    expect(seqs).toEqual([2]);
  });

  it('writes a time-based checkpoint with no further append', async () => {
    const log = trail.open({
      signingKey: keys.privateKey,
      checkpointEvery: 1000,
      checkpointIntervalSeconds: 1,
    });
    await appendRequests(log, 3);

    let seqs: number[] = [];
    for (let attempt = 0; attempt < 30 && seqs.length === 0; attempt += 1) {
      await sleep(100);
      seqs = (await trail.checkpoints()).map((row) => row.seq);
    }
    await log.close();

    expect(seqs).toEqual([3]);
  });

  it('verifies a long trail with its checkpoints', async () => {
    await writeTrail(300, 50);

    expect(await trail.verify(keys.publicKey)).toMatchObject({
      ok: true,
      entries: 300,
      checkpoints: 6,
    });
  });

  it('names the entry whose column was changed', async () => {
    await writeTrail(30);
    await trail.tamper("UPDATE audit_entries SET subject = 'mallory' WHERE seq = 17");

    const result = failureOf(await trail.verify(keys.publicKey));
    expect(result).toMatchObject({ seq: 17, at: 'entry', entries: 16 });
    expect(result.reason).toBe('hash does not match the entry contents');
  });

  it('names the checkpoint whose time was changed', async () => {
    await writeTrail(30);
    await trail.tamper(
      "UPDATE audit_checkpoints SET created_at = '2020-01-01T00:00:00.000Z' WHERE seq = 20",
    );

    const result = failureOf(await trail.verify(keys.publicKey));
    expect(result).toMatchObject({ seq: 20, at: 'checkpoint', entries: 19 });
    expect(result.reason).toMatch(/^checkpoint signature for entry 20 is invalid/);
  });

  it('names a checkpoint whose version was lowered', async () => {
    await writeTrail(10);
    await trail.tamper('UPDATE audit_checkpoints SET version = 1 WHERE seq = 10');

    expect(failureOf(await trail.verify(keys.publicKey))).toMatchObject({
      seq: 10,
      at: 'checkpoint',
    });
  });

  it('names a checkpoint with an unknown version', async () => {
    await writeTrail(10);
    await trail.tamper('UPDATE audit_checkpoints SET version = 9 WHERE seq = 10');

    const result = failureOf(await trail.verify());
    expect(result.at).toBe('checkpoint');
    expect(result.reason).toBe('checkpoint for entry 10 has unknown version 9');
  });

  it('detects a tail deleted past a checkpoint', async () => {
    await writeTrail(25);
    await trail.tamper('DELETE FROM audit_entries WHERE seq > 15');

    const result = failureOf(await trail.verify(keys.publicKey));
    expect(result).toMatchObject({ seq: 16, at: 'entry', entries: 15 });
    expect(result.reason).toMatch(/^entry 16 is missing/);
  });

  it('exports entries, each followed by its checkpoint, as JSON Lines', async () => {
    await writeTrail(12, 5);
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (chunk: Buffer) => chunks.push(chunk));

    const summary = await exportAuditTrail(trail.source(), out);
    const lines = Buffer.concat(chunks)
      .toString('utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as AuditExportLine);

    expect(summary).toEqual({ entries: 12, checkpoints: 3 });
    expect(lines.map((line) => `${line.type}:${line.seq}`)).toEqual([
      'entry:1',
      'entry:2',
      'entry:3',
      'entry:4',
      'entry:5',
      'checkpoint:5',
      'entry:6',
      'entry:7',
      'entry:8',
      'entry:9',
      'entry:10',
      'checkpoint:10',
      'entry:11',
      'entry:12',
      'checkpoint:12',
    ]);
    const entry = lines[0] as Extract<AuditExportLine, { type: 'entry' }>;
    expect(computeEntryHash(entry)).toBe(entry.hash);
  });

  it('rejects append after close with store_unavailable', async () => {
    const log = trail.open();
    await log.close();

    const error: unknown = await log.append(requestInput(1)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RampartError);
    expect(error).toHaveProperty('code', 'store_unavailable');
  });

  it('rejects an invalid entry with a TypeError and stores nothing', async () => {
    const log = trail.open();
    await expect(log.append({ ...requestInput(1), upstreamStatus: 42 })).rejects.toThrow(TypeError);
    await log.close();

    expect(await trail.verify()).toMatchObject({ ok: true, entries: 0 });
  });
});
