import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  deriveAuditKeyId,
  PostgresAuditLog,
  SqliteAuditLog,
  type AuditExportLine,
} from '../../src/audit/index.js';
import { main } from '../../src/cli/main.js';
import { generateKeyFile, writeKeyFile } from '../../src/session/key-file.js';
import { appendRequests, createTempDir } from '../audit/fixtures.js';
import { createTestDatabase, type TestDatabase } from '../helpers/stores.js';

let database: TestDatabase;
let dir: ReturnType<typeof createTempDir>;
let keysFile: string;
let signingKey: KeyObject;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database.drop();
});

beforeEach(async () => {
  dir = createTempDir();
  keysFile = join(dir.path, 'keys.json');
  const keys = generateKeyFile([]);
  writeKeyFile(keysFile, keys);
  signingKey = createPrivateKey(keys.auditKey.privateKeyPem);
  await database.pool.query(`TRUNCATE audit_entries, audit_checkpoints;
    UPDATE audit_head SET seq = 0, hash = repeat('0', 64), checkpoint_seq = 0,
      pending_since = NULL`);
});

afterEach(() => {
  dir.remove();
});

async function rampart(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const writeOut = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string) => stdout.push(chunk) > 0) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => stderr.push(chunk) > 0) as typeof process.stderr.write;
  try {
    const code = await main(['node', 'rampart', ...args]);
    return { code, stdout: stdout.join(''), stderr: stderr.join('') };
  } finally {
    process.stdout.write = writeOut;
    process.stderr.write = writeErr;
  }
}

async function writePostgresTrail(count: number): Promise<void> {
  const log = new PostgresAuditLog({ pool: database.pool, signingKey, checkpointEvery: 5 });
  await appendRequests(log, count);
  await log.close();
}

describe('rampart audit verify', () => {
  it('verifies a PostgreSQL trail given by --database-url', async () => {
    await writePostgresTrail(12);

    const result = await rampart(
      'audit',
      'verify',
      '--database-url',
      database.url,
      '--keys',
      keysFile,
    );

    expect(result.stdout).toMatch(
      /^audit trail OK: 12 entries, 3 signed checkpoints, last hash [0-9a-f]{64}\n$/,
    );
    expect(result.code).toBe(0);
  });

  it('reads DATABASE_URL when no option names the trail', async () => {
    await writePostgresTrail(3);
    const previous = process.env.DATABASE_URL;
    process.env.DATABASE_URL = database.url;
    try {
      const result = await rampart('audit', 'verify', '--keys', keysFile);

      expect(result.stdout).toMatch(/^audit trail OK: 3 entries/);
    } finally {
      if (previous === undefined) delete process.env.DATABASE_URL;
      else process.env.DATABASE_URL = previous;
    }
  });

  it('names the first checkpoint that does not match', async () => {
    await writePostgresTrail(12);
    await database.pool.query(
      "UPDATE audit_checkpoints SET created_at = '2001-01-01T00:00:00.000Z' WHERE seq = 10",
    );

    const result = await rampart(
      'audit',
      'verify',
      '--database-url',
      database.url,
      '--keys',
      keysFile,
    );

    expect(result.stdout).toBe(
      'audit trail BROKEN at checkpoint of entry 10: checkpoint signature for entry 10 is invalid' +
        ` (key id ${deriveAuditKeyId(signingKey)}) (9 entries before it verified)\n`,
    );
    expect(result.code).toBe(1);
  });

  it('names the first entry that does not match', async () => {
    await writePostgresTrail(12);
    await database.pool.query("UPDATE audit_entries SET path = '/api/elsewhere' WHERE seq = 4");

    const result = await rampart('audit', 'verify', '--database-url', database.url);

    expect(result.stdout).toBe(
      'audit trail BROKEN at entry 4: hash does not match the entry contents (3 entries before it verified)\n',
    );
    expect(result.code).toBe(1);
  });

  it('prefers --file over a database URL', async () => {
    const file = join(dir.path, 'audit.sqlite');
    const log = new SqliteAuditLog({ file, signingKey, checkpointEvery: 5 });
    await appendRequests(log, 7);
    await log.close();

    const result = await rampart(
      'audit',
      'verify',
      '--file',
      file,
      '--database-url',
      'postgres://127.0.0.1:1/none',
      '--keys',
      keysFile,
    );

    expect(result.stdout).toMatch(/^audit trail OK: 7 entries, 2 signed checkpoints/);
  });
});

describe('rampart audit export', () => {
  it('writes a PostgreSQL trail as JSON Lines to a file', async () => {
    await writePostgresTrail(6);
    const out = join(dir.path, 'trail.jsonl');

    const result = await rampart('audit', 'export', '--database-url', database.url, '--out', out);
    const lines = readFileSync(out, 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as AuditExportLine);

    expect(result.code).toBe(0);
    expect(result.stderr).toBe('exported 6 entries and 2 checkpoints\n');
    expect(lines.map((line) => `${line.type}:${line.seq}`)).toEqual([
      'entry:1',
      'entry:2',
      'entry:3',
      'entry:4',
      'entry:5',
      'checkpoint:5',
      'entry:6',
      'checkpoint:6',
    ]);
    expect(lines[5]).toMatchObject({ type: 'checkpoint', version: 2 });
    expect(statSync(out).mode & 0o777).toBe(0o600);
  });

  it('writes a SQLite trail to stdout', async () => {
    const file = join(dir.path, 'audit.sqlite');
    const log = new SqliteAuditLog({ file });
    await appendRequests(log, 2);
    await log.close();

    const result = await rampart('audit', 'export', '--file', file);

    expect(result.stdout.trimEnd().split('\n')).toHaveLength(2);
    expect(JSON.parse(result.stdout.split('\n')[0] ?? '')).toMatchObject({ type: 'entry', seq: 1 });
  });

  it('replaces an existing output file', async () => {
    await writePostgresTrail(1);
    const out = join(dir.path, 'trail.jsonl');
    writeFileSync(out, 'old contents that are longer than one line\n'.repeat(20));

    await rampart('audit', 'export', '--database-url', database.url, '--out', out);

    expect(readFileSync(out, 'utf8').trimEnd().split('\n')).toHaveLength(2);
  });
});
