import { type Command, InvalidArgumentError, Option } from 'commander';

import { loadConfigFile } from '../gateway/config.js';
import { generateKeyFile, loadKeyFile, readKeyFile, writeKeyFile } from '../session/key-file.js';
import {
  replaceKeyFile,
  retireKeyVersions,
  rotateKeyFile,
  type RotationScope,
} from '../session/key-rotation.js';

interface KeygenOptions {
  out?: string;
  keys?: string;
  config?: string;
  hop: string[];
  rotate?: boolean;
  retire?: string[];
  scope: RotationScope;
  activateIn?: number;
}

/**
 * Registers `keygen`, which creates a key file (`--out`), adds a new version of its keys
 * (`--rotate --keys`), or removes old versions (`--retire <kid...> --keys`).
 */
export function registerKeygenCommand(program: Command): void {
  program
    .command('keygen')
    .description(
      'write a new key file (mode 0600) with token, hop and audit keys, or rotate the keys of an existing one',
    )
    .option('-o, --out <file>', 'key file to create; an existing file is never overwritten')
    .option('-c, --config <file>', 'with --out: configuration whose services name the hop keys')
    .option('--hop <ids...>', 'with --out: extra hop key ids to create', [])
    .option('--keys <file>', 'existing key file to change with --rotate or --retire')
    .option(
      '--rotate',
      'add a new version of the token key and of each hop key; old versions still verify',
    )
    .addOption(
      new Option('--scope <scope>', 'keys that --rotate adds a version to')
        .choices(['all', 'tokens', 'hop'])
        .default('all'),
    )
    .option(
      '--activate-in <seconds>',
      'with --rotate: seconds until the new versions start signing; give every instance the file before then',
      parseSeconds,
    )
    .option('--retire <kids...>', 'remove these key versions; what they signed stops verifying')
    .action((options: KeygenOptions) => {
      if (options.rotate === true || options.retire !== undefined) {
        changeKeyFile(options);
        return;
      }
      if (options.out === undefined) {
        throw new Error(
          'keygen needs --out <file> to create a key file, or --keys <file> with --rotate or --retire',
        );
      }
      const fromConfig =
        options.config === undefined
          ? []
          : Object.values(loadConfigFile(options.config).services).map((s) => s.hopKeyId);
      const ids = [...new Set([...fromConfig, ...options.hop])];
      writeKeyFile(options.out, generateKeyFile(ids));
      process.stdout.write(`wrote ${options.out} with ${ids.length} hop keys\n`);
    });
}

function changeKeyFile(options: KeygenOptions): void {
  const path = options.keys;
  if (path === undefined) {
    throw new Error('--rotate and --retire need --keys <file>, the key file to change');
  }
  let file = readKeyFile(path);

  if (options.rotate === true) {
    const activeFrom =
      options.activateIn === undefined
        ? undefined
        : new Date(Date.now() + options.activateIn * 1000);
    const rotated = rotateKeyFile(file, {
      scope: options.scope,
      ...(activeFrom === undefined ? {} : { activeFrom }),
    });
    file = rotated.file;
    const when = activeFrom === undefined ? 'now' : `from ${activeFrom.toISOString()}`;
    process.stdout.write(`added ${rotated.added.join(', ')}; they sign ${when}\n`);
  }
  if (options.retire !== undefined) {
    file = retireKeyVersions(file, options.retire);
    process.stdout.write(`retired ${options.retire.join(', ')}\n`);
  }

  replaceKeyFile(path, file);
  // Loading checks the result the way a gateway will, before anyone restarts with it.
  loadKeyFile(path);
  process.stdout.write(
    `wrote ${path}; give every gateway instance the same file, then restart them or send SIGHUP\n`,
  );
}

function parseSeconds(value: string): number {
  const seconds = Number(value);
  if (!Number.isSafeInteger(seconds) || seconds < 0) {
    throw new InvalidArgumentError(
      `expected a whole number of seconds, 0 or more, received "${value}"`,
    );
  }
  return seconds;
}
