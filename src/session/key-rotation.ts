import { randomBytes } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';

import { hopKeyVersions, type KeyFile, type KeyFileVersion } from './key-file.js';

/** Keys that `rotateKeyFile` adds a version to. */
export type RotationScope = 'all' | 'tokens' | 'hop';

/** Options of {@link rotateKeyFile}. */
export interface RotateOptions {
  /** Keys to rotate. Default `all`: the token key and every hop key. */
  scope?: RotationScope;
  /**
   * Time from which the new versions sign. Until then the previous versions keep signing and
   * the new ones only verify, so every instance can load the file first. Default: at once.
   */
  activeFrom?: Date;
  /** Clock, for tests. Default: now. */
  now?: Date;
}

/** The edited key file and the key ids of the versions added. */
export interface RotationResult {
  file: KeyFile;
  added: string[];
}

/**
 * Adds a new version in front of the token key and of each hop key, as `scope` selects. Old
 * versions stay, so tokens and hops they signed still verify until `retireKeyVersions` removes
 * them. A hop key stored as one string becomes a list whose old version keeps the key's name
 * as its key id, so services that know that id keep accepting it.
 */
export function rotateKeyFile(file: KeyFile, options: RotateOptions = {}): RotationResult {
  const scope = options.scope ?? 'all';
  const stamp = (options.now ?? new Date()).toISOString().slice(0, 10);
  const activeFrom = options.activeFrom?.toISOString();
  const added: string[] = [];
  const newVersion = (prefix: string): KeyFileVersion => {
    const version: KeyFileVersion = {
      kid: `${prefix}-${stamp}-${randomBytes(3).toString('hex')}`,
      key: randomBytes(32).toString('base64url'),
    };
    if (activeFrom !== undefined) version.activeFrom = activeFrom;
    added.push(version.kid);
    return version;
  };

  const next: KeyFile = structuredClone(file);
  if (scope === 'all' || scope === 'tokens') {
    next.tokenKeys = [newVersion('token'), ...next.tokenKeys];
  }
  if (scope === 'all' || scope === 'hop') {
    for (const [name, value] of Object.entries(next.hopKeys)) {
      next.hopKeys[name] = [newVersion(name), ...hopKeyVersions(name, value)];
    }
  }
  return { file: next, added };
}

/**
 * Removes the versions with the given key ids. Tokens and hops signed by a removed version no
 * longer verify, so retire a version only after everything it signed has expired: one token
 * lifetime for a token key, one hop signature window for a hop key.
 *
 * @throws Error naming the key id when it is not in the file, is the only version of its key,
 *   or is the version that signs at `now`.
 */
export function retireKeyVersions(
  file: KeyFile,
  kids: readonly string[],
  now = new Date(),
): KeyFile {
  const next: KeyFile = structuredClone(file);
  for (const kid of kids) {
    const tokenIndex = next.tokenKeys.findIndex((version) => version.kid === kid);
    if (tokenIndex !== -1) {
      next.tokenKeys = removeVersion('token key', next.tokenKeys, tokenIndex, now);
      continue;
    }

    const hopName = Object.keys(next.hopKeys).find((name) =>
      hopKeyVersions(name, next.hopKeys[name] as KeyFile['hopKeys'][string]).some(
        (version) => version.kid === kid,
      ),
    );
    if (hopName === undefined) {
      throw new Error(`key id ${kid} is not in the key file; nothing was retired`);
    }
    const versions = hopKeyVersions(hopName, next.hopKeys[hopName] as KeyFile['hopKeys'][string]);
    const index = versions.findIndex((version) => version.kid === kid);
    next.hopKeys[hopName] = removeVersion(`hop key ${hopName}`, versions, index, now);
  }
  return next;
}

/**
 * Replaces the key file at `path` atomically: writes a temporary file with mode 0600 next to
 * it, then renames it over the old one, so a reader never sees half a file.
 */
export function replaceKeyFile(path: string, keys: KeyFile): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  renameSync(temporary, path);
}

function removeVersion(
  what: string,
  versions: KeyFileVersion[],
  index: number,
  now: Date,
): KeyFileVersion[] {
  const version = versions[index] as KeyFileVersion;
  if (versions.length === 1) {
    throw new Error(
      `key id ${version.kid} is the only version of the ${what}; rotate before retiring it`,
    );
  }
  if (signingVersion(versions, now) === version) {
    throw new Error(
      `key id ${version.kid} is the version of the ${what} that signs now; wait until a newer version is active`,
    );
  }
  return versions.filter((_, position) => position !== index);
}

/** The version that signs at `now`, by the same rule as `KeyRing.current`. */
function signingVersion(versions: KeyFileVersion[], now: Date): KeyFileVersion | undefined {
  return (
    versions.find(
      (version) =>
        version.activeFrom === undefined || Date.parse(version.activeFrom) <= now.getTime(),
    ) ?? versions.at(-1)
  );
}
