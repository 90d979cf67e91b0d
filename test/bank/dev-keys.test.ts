import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { addMissingHopKeys } from '../../examples/bank/dev-keys.js';
import { HOP_KEY_IDS } from '../../examples/bank/services.js';
import { generateKeyFile, loadKeyFile, writeKeyFile } from '../../src/session/key-file.js';
import { createTempDir } from './fixtures.js';

const dir = createTempDir();

afterAll(() => dir.remove());

describe('addMissingHopKeys', () => {
  it('adds only the missing hop keys', () => {
    const path = join(dir.path, 'keys.json');
    writeKeyFile(path, generateKeyFile(['gateway-accounts', 'gateway-payments']));
    const before = loadKeyFile(path);

    const added = addMissingHopKeys(path, HOP_KEY_IDS);

    expect(added).toEqual(
      HOP_KEY_IDS.filter((id) => id !== 'gateway-accounts' && id !== 'gateway-payments'),
    );
    const after = loadKeyFile(path);
    expect([...after.hop.keys()].sort()).toEqual([...HOP_KEY_IDS].sort());
    expect(after.hop.get('gateway-accounts')).toEqual(before.hop.get('gateway-accounts'));
    expect(after.tokens.current.kid).toBe(before.tokens.current.kid);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('leaves a complete key file untouched', () => {
    const path = join(dir.path, 'complete.json');
    writeKeyFile(path, generateKeyFile(HOP_KEY_IDS));
    const text = readFileSync(path, 'utf8');

    expect(addMissingHopKeys(path, HOP_KEY_IDS)).toEqual([]);
    expect(readFileSync(path, 'utf8')).toBe(text);
  });

  it('leaves a missing file to ensureKeyFile', () => {
    expect(addMissingHopKeys(join(dir.path, 'absent.json'), HOP_KEY_IDS)).toEqual([]);
  });

  it('rejects a file without hopKeys', () => {
    const path = join(dir.path, 'broken.json');
    writeFileSync(path, '{"version":1}', { mode: 0o600 });

    expect(() => addMissingHopKeys(path, HOP_KEY_IDS)).toThrow(/has no "hopKeys" object/);
  });
});
