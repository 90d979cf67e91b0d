import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

/**
 * Adds a random 32-byte hop key for each id in `hopKeyIds` that the development key file at
 * `path` lacks, so a `var/` folder made by an older demo keeps working after the demo gains a
 * service. Returns the ids it added. The file is rewritten through a temporary file with mode
 * 0600 and a rename, so a crash leaves either the old or the new file. A missing file is left
 * to `ensureKeyFile`.
 *
 * @throws Error when the file is not JSON or has no `hopKeys` object.
 */
export function addMissingHopKeys(path: string, hopKeyIds: readonly string[]): string[] {
  if (!existsSync(path)) return [];
  const file = JSON.parse(readFileSync(path, 'utf8')) as { hopKeys?: unknown };
  const hopKeys = file.hopKeys;
  if (typeof hopKeys !== 'object' || hopKeys === null || Array.isArray(hopKeys)) {
    throw new Error(`key file ${path} has no "hopKeys" object; delete it to create a new one`);
  }

  const added = hopKeyIds.filter((id) => !(id in hopKeys));
  if (added.length === 0) return [];
  for (const id of added) {
    (hopKeys as Record<string, string>)[id] = randomBytes(32).toString('base64url');
  }
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  renameSync(temporary, path);
  return added;
}
