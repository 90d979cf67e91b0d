import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';

import { main } from '../../src/cli/main.js';
import { parseConfig } from '../../src/gateway/config.js';
import { createGateway } from '../../src/gateway/create-gateway.js';
import { loadMigrations, migrate, readSchemaStatus } from '../../src/postgres/migrate.js';
import { generateKeyFile, loadKeyFile, writeKeyFile } from '../../src/session/key-file.js';
import { createTestDatabase, type TestDatabase } from '../helpers/stores.js';

const databases: TestDatabase[] = [];

afterEach(async () => {
  for (const database of databases.splice(0)) await database.drop();
});

async function emptyDatabase(): Promise<TestDatabase> {
  const database = await createTestDatabase({ migrated: false });
  databases.push(database);
  return database;
}

async function captureStdout(run: () => Promise<number>): Promise<{ code: number; out: string }> {
  const output: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string) => output.push(chunk) > 0) as typeof process.stdout.write;
  try {
    const code = await run();
    return { code, out: output.join('') };
  } finally {
    process.stdout.write = write;
  }
}

describe('PostgreSQL migrations', () => {
  it('ships numbered migrations without gaps', () => {
    const migrations = loadMigrations();

    expect(migrations.map((migration) => migration.version)).toEqual(
      migrations.map((_, index) => index + 1),
    );
    expect(migrations.map((migration) => migration.name)).toEqual(['users', 'audit']);
  });

  it('applies every migration to an empty database and records it', async () => {
    const database = await emptyDatabase();

    const result = await migrate(database.pool);
    const rows = await database.pool.query<{ version: number; name: string }>(
      'SELECT version, name FROM schema_migrations ORDER BY version',
    );

    expect(result.applied.map((migration) => migration.version)).toEqual([1, 2]);
    expect(result.version).toBe(2);
    expect(rows.rows).toEqual([
      { version: 1, name: 'users' },
      { version: 2, name: 'audit' },
    ]);
    expect(await readSchemaStatus(database.pool)).toEqual({ current: 2, latest: 2 });
  });

  it('applies nothing the second time', async () => {
    const database = await emptyDatabase();
    await migrate(database.pool);

    const again = await migrate(database.pool);

    expect(again.applied).toEqual([]);
  });

  it('applies each migration once when three instances migrate at once', async () => {
    const database = await emptyDatabase();
    const pools = [1, 2, 3].map(() => new pg.Pool({ connectionString: database.url, max: 1 }));
    try {
      const results = await Promise.all(pools.map((pool) => migrate(pool)));

      expect(results.flatMap((result) => result.applied).map((m) => m.version)).toEqual([1, 2]);
    } finally {
      await Promise.all(pools.map((pool) => pool.end()));
    }
  });

  it('reports version 0 for a database never migrated', async () => {
    const database = await emptyDatabase();

    expect(await readSchemaStatus(database.pool)).toEqual({ current: 0, latest: 2 });
  });

  it('refuses a migration changed after it was applied', async () => {
    const database = await emptyDatabase();
    await migrate(database.pool);
    await database.pool.query("UPDATE schema_migrations SET checksum = 'x' WHERE version = 2");

    await expect(migrate(database.pool)).rejects.toThrow(
      'Migration 0002_audit.sql changed after it was applied',
    );
  });

  it('refuses a database migrated by a newer Rampart', async () => {
    const database = await emptyDatabase();
    await migrate(database.pool);
    await database.pool.query(
      "INSERT INTO schema_migrations (version, name, checksum) VALUES (3, 'future', 'x')",
    );

    await expect(migrate(database.pool)).rejects.toThrow(
      'The database has schema version 3 (future), which this Rampart does not know',
    );
  });

  it('rolls back a failing migration and names its file', async () => {
    const database = await emptyDatabase();
    const dir = mkdtempSync(join(tmpdir(), 'rampart-migrations-'));
    try {
      writeFileSync(join(dir, '0001_first.sql'), 'CREATE TABLE first (id int);');
      writeFileSync(join(dir, '0002_broken.sql'), 'CREATE TABLE second (id int); SELECT nope;');

      await expect(migrate(database.pool, loadMigrations(dir))).rejects.toThrow(
        /^Migration 0002_broken\.sql failed: /,
      );
      const tables = await database.pool.query<{ name: string | null }>(
        "SELECT to_regclass('second')::text AS name",
      );
      expect(tables.rows[0]?.name).toBeNull();
      expect(await readSchemaStatus(database.pool, loadMigrations(dir))).toEqual({
        current: 1,
        latest: 2,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects a migration file with a bad name or a gap', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rampart-migrations-'));
    try {
      writeFileSync(join(dir, '0001_first.sql'), 'SELECT 1;');
      writeFileSync(join(dir, '0003_third.sql'), 'SELECT 1;');
      expect(() => loadMigrations(dir)).toThrow('without gaps; found 3 at position 2');

      writeFileSync(join(dir, 'second.sql'), 'SELECT 1;');
      expect(() => loadMigrations(dir)).toThrow('must be named NNNN_name.sql');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs from the command line with --database-url', async () => {
    const database = await emptyDatabase();

    const first = await captureStdout(() =>
      main(['node', 'rampart', 'migrate', '--database-url', database.url]),
    );
    const second = await captureStdout(() =>
      main(['node', 'rampart', 'migrate', '--database-url', database.url]),
    );

    expect(first.code).toBe(0);
    expect(first.out).toBe('applied 0001_users, 0002_audit; schema is at version 2\n');
    expect(second.out).toBe('schema is up to date at version 2\n');
  });

  it('keeps a gateway from starting on an older schema', async () => {
    const database = await emptyDatabase();
    const dir = mkdtempSync(join(tmpdir(), 'rampart-gw-'));
    try {
      const keysFile = join(dir, 'keys.json');
      writeKeyFile(keysFile, generateKeyFile([]));
      const config = parseConfig({ keysFile, dataDir: dir, listen: { port: 0 } });

      await expect(
        createGateway(config, {
          keys: loadKeyFile(keysFile),
          logger: false,
          env: { DATABASE_URL: database.url },
        }),
      ).rejects.toThrow(
        'the database schema is at version 0, this gateway needs 2; run "rampart migrate" first',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
