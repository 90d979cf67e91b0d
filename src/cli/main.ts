import { Command, CommanderError } from 'commander';

import { ConfigError, loadConfigFile, type GatewayConfig } from '../gateway/config.js';
import { createGateway } from '../gateway/create-gateway.js';
import { loadKeyFile } from '../session/key-file.js';
import { registerAuditCommands } from './audit-commands.js';
import { DEFAULT_CONFIG_FILE, type CommandState } from './command-state.js';
import { registerKeygenCommand } from './keygen-command.js';
import { registerMigrateCommand } from './migrate-command.js';

export { DEFAULT_CONFIG_FILE } from './command-state.js';

/**
 * Runs the `rampart` command line and returns the exit code: `start`, `keygen`, `migrate`,
 * `audit verify` and `audit export`.
 */
export async function main(argv: string[]): Promise<number> {
  const state: CommandState = { exitCode: 0 };
  const program = new Command('rampart')
    .description('Backend-for-Frontend security gateway with RFC 9421 request signing')
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });

  program
    .command('start')
    .description(
      'start the gateway; REDIS_URL and DATABASE_URL select the Redis and PostgreSQL stores',
    )
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
      // SIGHUP reloads the key file, so a rotated key takes effect without a restart.
      process.on('SIGHUP', () => {
        try {
          gateway.reloadKeys(loadKeyFile(config.keysFile));
        } catch (error) {
          gateway.app.log.error(
            { err: error, keysFile: config.keysFile },
            'key file reload failed; the old keys stay in use',
          );
        }
      });
    });

  registerKeygenCommand(program);
  registerMigrateCommand(program);
  registerAuditCommands(program, state);

  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    process.stderr.write(`rampart: ${(error as Error).message}\n`);
    return error instanceof ConfigError ? 78 : 1;
  }
  return state.exitCode;
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
