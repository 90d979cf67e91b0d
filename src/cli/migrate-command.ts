import type { Command } from 'commander';

import { migrate } from '../postgres/migrate.js';
import { createPostgresPool } from '../postgres/pool.js';

/** A migration may take this long: 10 minutes. */
const MIGRATION_TIMEOUT_MS = 600_000;

/** Registers `migrate`, which brings a PostgreSQL database to the schema this Rampart needs. */
export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description(
      'apply the numbered PostgreSQL migrations the database lacks and record them in schema_migrations',
    )
    .option(
      '--database-url <url>',
      'PostgreSQL URL; default: the DATABASE_URL variable. Prefer the variable: command lines are visible to other users',
    )
    .action(async (options: { databaseUrl?: string }) => {
      const url = options.databaseUrl ?? process.env.DATABASE_URL;
      if (url === undefined || url.trim() === '') {
        throw new Error('migrate needs a database: set DATABASE_URL or pass --database-url');
      }
      const pool = createPostgresPool({
        url,
        queryTimeoutMs: MIGRATION_TIMEOUT_MS,
        maxConnections: 1,
      });
      try {
        const result = await migrate(pool);
        const applied = result.applied.map(
          (migration) => `${String(migration.version).padStart(4, '0')}_${migration.name}`,
        );
        process.stdout.write(
          applied.length === 0
            ? `schema is up to date at version ${result.version}\n`
            : `applied ${applied.join(', ')}; schema is at version ${result.version}\n`,
        );
      } finally {
        await pool.end();
      }
    });
}
