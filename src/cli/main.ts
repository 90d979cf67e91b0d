import { createPublicKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { Command, CommanderError } from 'commander';

import { verifyAuditTrail } from '../audit/verify-trail.js';
import { ConfigError, loadConfigFile, parseConfig, type GatewayConfig } from '../gateway/config.js';
import { createGateway } from '../gateway/create-gateway.js';
import { generateKeyFile, writeKeyFile } from '../session/key-file.js';

/** Default configuration file, looked up in the working directory. */
export const DEFAULT_CONFIG_FILE = 'rampart.config.json';

/**
 * Runs the `rampart` command line and returns the exit code: `start`, `keygen` and
 * `audit verify`.
 */
export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command('rampart')
    .description('Backend-for-Frontend security gateway with RFC 9421 request signing')
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });

  program
    .command('start')
    .description('start the gateway')
    .option('-c, --config <file>', 'configuration file (JSON)', DEFAULT_CONFIG_FILE)
    .option('-p, --port <port>', 'listen port; overrides the file and the PORT variable')
    .action(async (options: { config: string; port?: string }) => {
      const config = readConfig(options.config);
      const port = options.port ?? process.env.PORT;
      if (port !== undefined) config.listen.port = parsePort(port);
      const gateway = await createGateway(config);
      await gateway.app.listen({ host: config.listen.host, port: config.listen.port });
      const stop = async (): Promise<void> => {
        gateway.app.log.info('stopping');
        await gateway.close();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });

  program
    .command('keygen')
    .description('write a new key file (mode 0600) with token, hop and audit keys')
    .requiredOption('-o, --out <file>', 'key file to create; an existing file is never overwritten')
    .option('-c, --config <file>', 'configuration whose services name the hop keys to create')
    .option('--hop <ids...>', 'extra hop key ids to create', [])
    .action((options: { out: string; config?: string; hop: string[] }) => {
      const fromConfig =
        options.config === undefined
          ? []
          : Object.values(readConfig(options.config).services).map((s) => s.hopKeyId);
      const ids = [...new Set([...fromConfig, ...options.hop])];
      writeKeyFile(options.out, generateKeyFile(ids));
      process.stdout.write(`wrote ${options.out} with ${ids.length} hop keys\n`);
    });

  const audit = program.command('audit').description('work with the audit trail');
  audit
    .command('verify')
    .description(
      'check the hash chain and signed checkpoints; names the first entry that does not match',
    )
    .option(
      '-c, --config <file>',
      'configuration that locates the audit file and key file',
      DEFAULT_CONFIG_FILE,
    )
    .option('--file <path>', 'audit SQLite file; default: audit.sqlite in the configured dataDir')
    .option('--keys <path>', 'key file with the audit public key; default: the configured keysFile')
    .action((options: { config: string; file?: string; keys?: string }) => {
      const config = existsSync(options.config) ? readConfig(options.config) : parseConfig({});
      const file = options.file ?? join(config.dataDir, 'audit.sqlite');
      const keysFile = options.keys ?? config.keysFile;
      const publicKey = existsSync(keysFile)
        ? createPublicKey(
            (JSON.parse(readFileSync(keysFile, 'utf8')) as { auditKey: { publicKeyPem: string } })
              .auditKey.publicKeyPem,
          )
        : undefined;
      if (publicKey === undefined)
        process.stderr.write(
          `warning: ${keysFile} not found; checkpoint signatures are not checked\n`,
        );

      const result = verifyAuditTrail({ file, publicKey });
      if (result.ok) {
        process.stdout.write(
          `audit trail OK: ${result.entries} entries, ${result.checkpoints} signed checkpoints, last hash ${result.lastHash}\n`,
        );
      } else {
        process.stdout.write(
          `audit trail BROKEN at entry ${result.seq}: ${result.reason} (${result.entries} entries before it verified)\n`,
        );
        exitCode = 1;
      }
    });

  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    process.stderr.write(`rampart: ${(error as Error).message}\n`);
    return error instanceof ConfigError ? 78 : 1;
  }
  return exitCode;
}

function readConfig(path: string): GatewayConfig {
  return loadConfigFile(path);
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(
      `option "port": expected an integer from 0 to 65535, received "${value}"`,
    );
  }
  return port;
}
