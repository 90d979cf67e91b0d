import { createPublicKey, type KeyObject } from 'node:crypto';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';

import type { Command } from 'commander';
import type pg from 'pg';

import { exportAuditTrail, type AuditTrailSource } from '../audit/export-trail.js';
import { verifyAuditTrail, type AuditVerifyResult } from '../audit/verify-trail.js';
import { loadConfigFile, parseConfig } from '../gateway/config.js';
import { createPostgresPool } from '../postgres/pool.js';
import { DEFAULT_CONFIG_FILE, type CommandState } from './command-state.js';

/** Options every `audit` subcommand takes to find the trail. */
interface TrailOptions {
  config: string;
  file?: string;
  databaseUrl?: string;
}

/** A query may take this long when the CLI reads a whole trail: 10 minutes. */
const CLI_QUERY_TIMEOUT_MS = 600_000;

/**
 * Registers `audit verify` and `audit export`. Both read the trail from `--file` (SQLite), else
 * from `--database-url` or `DATABASE_URL` (PostgreSQL), else from `audit.sqlite` in the
 * configured `dataDir`, the same rule the gateway uses to pick its store.
 */
export function registerAuditCommands(program: Command, state: CommandState): void {
  const audit = program.command('audit').description('work with the audit trail');

  addTrailOptions(
    audit
      .command('verify')
      .description(
        'check the hash chain and the signed checkpoints; names the first entry or checkpoint that does not match',
      )
      .option(
        '--keys <path>',
        'key file with the audit public key; default: the configured keysFile',
      ),
  ).action(async (options: TrailOptions & { keys?: string }) => {
    const publicKey = readAuditPublicKey(options);
    const result = await withTrailSource(options, (source) =>
      'pool' in source
        ? verifyAuditTrail({ pool: source.pool, publicKey })
        : Promise.resolve(verifyAuditTrail({ file: source.file, publicKey })),
    );
    process.stdout.write(`${describeResult(result)}\n`);
    if (!result.ok) state.exitCode = 1;
  });

  addTrailOptions(
    audit
      .command('export')
      .description(
        'write every entry, each followed by its checkpoint, as JSON Lines; does not verify them',
      )
      .option('-o, --out <file>', 'file to write; an existing file is replaced; default: stdout'),
  ).action(async (options: TrailOptions & { out?: string }) => {
    const out: Writable =
      options.out === undefined ? process.stdout : createWriteStream(options.out, { mode: 0o600 });
    const summary = await withTrailSource(options, (source) => exportAuditTrail(source, out));
    if (options.out !== undefined) {
      out.end();
      await finished(out);
    }
    process.stderr.write(
      `exported ${summary.entries} entries and ${summary.checkpoints} checkpoints\n`,
    );
  });
}

function addTrailOptions(command: Command): Command {
  return command
    .option(
      '-c, --config <file>',
      'configuration that locates the audit file and key file',
      DEFAULT_CONFIG_FILE,
    )
    .option(
      '--file <path>',
      'audit SQLite file; default: audit.sqlite in the configured dataDir, unless a database URL is set',
    )
    .option(
      '--database-url <url>',
      'PostgreSQL URL of the audit trail; default: the DATABASE_URL variable. Prefer the variable: command lines are visible to other users',
    );
}

/** Opens the trail's source, runs `use` on it and closes it again. */
async function withTrailSource<T>(
  options: TrailOptions,
  use: (source: AuditTrailSource) => Promise<T>,
): Promise<T> {
  if (options.file !== undefined) return use({ file: options.file });

  const databaseUrl = options.databaseUrl ?? nonEmpty(process.env.DATABASE_URL);
  if (databaseUrl !== undefined) {
    const pool: pg.Pool = createPostgresPool({
      url: databaseUrl,
      queryTimeoutMs: CLI_QUERY_TIMEOUT_MS,
      maxConnections: 1,
    });
    try {
      return await use({ pool });
    } finally {
      await pool.end();
    }
  }

  const config = readOptionalConfig(options.config);
  return use({ file: join(config.dataDir, 'audit.sqlite') });
}

function readAuditPublicKey(options: { config: string; keys?: string }): KeyObject | undefined {
  const keysFile = options.keys ?? readOptionalConfig(options.config).keysFile;
  if (!existsSync(keysFile)) {
    process.stderr.write(`warning: ${keysFile} not found; checkpoint signatures are not checked\n`);
    return undefined;
  }
  const parsed = JSON.parse(readFileSync(keysFile, 'utf8')) as {
    auditKey: { publicKeyPem: string };
  };
  return createPublicKey(parsed.auditKey.publicKeyPem);
}

function readOptionalConfig(path: string) {
  return existsSync(path) ? loadConfigFile(path) : parseConfig({});
}

/** Formats the result as one line; a failure names the entry or checkpoint and the reason. */
export function describeResult(result: AuditVerifyResult): string {
  if (result.ok) {
    return `audit trail OK: ${result.entries} entries, ${result.checkpoints} signed checkpoints, last hash ${result.lastHash}`;
  }
  const where =
    result.at === 'checkpoint' ? `checkpoint of entry ${result.seq}` : `entry ${result.seq}`;
  return `audit trail BROKEN at ${where}: ${result.reason} (${result.entries} entries before it verified)`;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
