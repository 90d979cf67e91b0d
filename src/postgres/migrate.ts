import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type pg from 'pg';

import { checkOut } from './pool.js';

/** One numbered SQL file, such as `0002_audit.sql`. */
export interface Migration {
  version: number;
  name: string;
  /** SHA-256 of the file, as hex; an applied migration must never change. */
  checksum: string;
  sql: string;
}

/** Outcome of {@link migrate}. */
export interface MigrationResult {
  /** Migrations applied by this call, in order. */
  applied: Migration[];
  /** Schema version after the call. */
  version: number;
}

/** Schema version of a database compared with the migrations this code ships. */
export interface SchemaStatus {
  /** Highest applied version, 0 for an empty database. */
  current: number;
  /** Highest version this code ships. */
  latest: number;
}

// Any fixed 64-bit number works; this one is "rampart" in ASCII, read as a big-endian integer.
const MIGRATION_LOCK_ID = '32195270009778804';
const FILE_PATTERN = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/**
 * Folder of the PostgreSQL migrations shipped with Rampart: `migrations/postgres` in the
 * package root, found by walking up from this module, so it works from `src/` under tsx and
 * from `dist/src/` alike.
 */
export function defaultMigrationsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'migrations', 'postgres');
    if (existsSync(join(dir, 'package.json')) && existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(
        'Cannot find the migrations/postgres folder above the Rampart package; reinstall Rampart.',
      );
    }
    dir = parent;
  }
}

/**
 * Reads the numbered SQL files of `dir` in version order. Throws an `Error` for a file name
 * that does not match `NNNN_name.sql`, and for a duplicate or missing version number.
 */
export function loadMigrations(dir = defaultMigrationsDir()): Migration[] {
  const migrations: Migration[] = [];
  for (const file of readdirSync(dir).sort()) {
    const match = FILE_PATTERN.exec(file);
    if (match === null) {
      throw new Error(
        `Migration file ${join(dir, file)} must be named NNNN_name.sql, such as 0003_add_index.sql.`,
      );
    }
    const sql = readFileSync(join(dir, file), 'utf8');
    migrations.push({
      version: Number(match[1]),
      name: match[2] as string,
      checksum: createHash('sha256').update(sql, 'utf8').digest('hex'),
      sql,
    });
  }

  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new Error(
        `Migrations in ${dir} must be numbered 0001, 0002, ... without gaps; found ${migration.version} at position ${index + 1}.`,
      );
    }
  });
  return migrations;
}

/**
 * Applies every migration the database lacks, each in its own transaction, and records it in
 * `schema_migrations`. A session-level advisory lock serializes concurrent runs, so two
 * instances that migrate at once apply each file once.
 *
 * Throws an `Error` when an applied migration's file has changed, or when the database has a
 * version this code does not know because a newer Rampart migrated it. A migration that fails is
 * rolled back, and the `Error` names its file.
 */
export async function migrate(
  pool: pg.Pool,
  migrations: Migration[] = loadMigrations(),
): Promise<MigrationResult> {
  const connection = await checkOut(pool);
  const { client } = connection;
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        checksum text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
      const applied = await readApplied(client);
      checkApplied(applied, migrations);

      const pending = migrations.filter((migration) => !applied.has(migration.version));
      for (const migration of pending) await applyMigration(client, migration);
      return { applied: pending, version: migrations.length };
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]);
    }
  } finally {
    connection.release();
  }
}

/**
 * Reads the schema version of the database. A database without `schema_migrations` is at
 * version 0. Rejects when the database cannot be reached.
 */
export async function readSchemaStatus(
  pool: pg.Pool,
  migrations: Migration[] = loadMigrations(),
): Promise<SchemaStatus> {
  const table = await pool.query<{ name: string | null }>(
    "SELECT to_regclass('schema_migrations')::text AS name",
  );
  if (table.rows[0]?.name === null) return { current: 0, latest: migrations.length };
  const result = await pool.query<{ version: number }>(
    'SELECT coalesce(max(version), 0) AS version FROM schema_migrations',
  );
  return { current: result.rows[0]?.version ?? 0, latest: migrations.length };
}

interface AppliedRow {
  version: number;
  name: string;
  checksum: string;
}

async function readApplied(client: pg.PoolClient): Promise<Map<number, AppliedRow>> {
  const result = await client.query<AppliedRow>(
    'SELECT version, name, checksum FROM schema_migrations ORDER BY version',
  );
  return new Map(result.rows.map((row) => [row.version, row]));
}

function checkApplied(applied: Map<number, AppliedRow>, migrations: Migration[]): void {
  for (const row of applied.values()) {
    const migration = migrations[row.version - 1];
    if (migration === undefined) {
      throw new Error(
        `The database has schema version ${row.version} (${row.name}), which this Rampart does not know; upgrade Rampart before using this database.`,
      );
    }
    if (migration.checksum !== row.checksum) {
      throw new Error(
        `Migration ${formatVersion(row.version)}_${row.name}.sql changed after it was applied; restore the original file and add a new migration instead.`,
      );
    }
  }
}

async function applyMigration(client: pg.PoolClient, migration: Migration): Promise<void> {
  const file = `${formatVersion(migration.version)}_${migration.name}.sql`;
  try {
    await client.query('BEGIN');
    await client.query(migration.sql);
    await client.query(
      'INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)',
      [migration.version, migration.name, migration.checksum],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw new Error(`Migration ${file} failed: ${(error as Error).message}`, { cause: error });
  }
}

function formatVersion(version: number): string {
  return String(version).padStart(4, '0');
}
