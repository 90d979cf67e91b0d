import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import {
  generateKeyFile,
  loadKeyFile,
  readKeyFile,
  writeKeyFile,
  type KeyFile,
} from '../../src/session/key-file.js';
import { KeyRing } from '../../src/session/key-ring.js';
import {
  replaceKeyFile,
  retireKeyVersions,
  rotateKeyFile,
} from '../../src/session/key-rotation.js';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rampart-keys-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const key = (byte: number) => new Uint8Array(32).fill(byte);

describe('KeyRing', () => {
  it('signs with the first version whose activeFrom has passed', () => {
    let now = 1_000;
    const ring = new KeyRing(
      'tokens',
      [
        { kid: 'new', key: key(2), activeFrom: 2_000 },
        { kid: 'old', key: key(1) },
      ],
      () => now,
    );

    expect(ring.current.kid).toBe('old');
    now = 2_000;
    expect(ring.current.kid).toBe('new');
    expect([...ring.byKid.keys()]).toEqual(['new', 'old']);
  });

  it('falls back to the oldest version when none is active yet', () => {
    const ring = new KeyRing('tokens', [
      { kid: 'b', key: key(2), activeFrom: Date.now() + 60_000 },
      { kid: 'a', key: key(1), activeFrom: Date.now() + 30_000 },
    ]);

    expect(ring.current.kid).toBe('a');
  });

  it('rejects an empty version list', () => {
    expect(() => new KeyRing('hop', [])).toThrow('Key hop needs at least one version.');
  });
});

describe('rotateKeyFile', () => {
  it('adds a token version and a version of every hop key in front', () => {
    const file = generateKeyFile(['gateway-accounts', 'gateway-payments']);

    const { file: rotated, added } = rotateKeyFile(file, { now: new Date('2026-05-01T00:00:00Z') });

    expect(added).toHaveLength(3);
    expect(rotated.tokenKeys).toHaveLength(2);
    expect(rotated.tokenKeys[0]?.kid).toMatch(/^token-2026-05-01-[0-9a-f]{6}$/);
    expect(rotated.tokenKeys[1]).toEqual(file.tokenKeys[0]);
    const versions = rotated.hopKeys['gateway-accounts'];
    expect(Array.isArray(versions)).toBe(true);
    expect((versions as Array<{ kid: string }>)[0]?.kid).toMatch(/^gateway-accounts-2026-05-01-/);
    expect((versions as Array<{ kid: string; key: string }>)[1]).toEqual({
      kid: 'gateway-accounts',
      key: file.hopKeys['gateway-accounts'],
    });
  });

  it('rotates only the token key with scope tokens', () => {
    const file = generateKeyFile(['gateway-accounts']);

    const { file: rotated } = rotateKeyFile(file, { scope: 'tokens' });

    expect(rotated.tokenKeys).toHaveLength(2);
    expect(rotated.hopKeys).toEqual(file.hopKeys);
  });

  it('rotates only the hop keys with scope hop', () => {
    const file = generateKeyFile(['gateway-accounts']);

    const { file: rotated } = rotateKeyFile(file, { scope: 'hop' });

    expect(rotated.tokenKeys).toEqual(file.tokenKeys);
    expect(rotated.hopKeys['gateway-accounts']).toHaveLength(2);
  });

  it('stamps activeFrom on the new versions only', () => {
    const activeFrom = new Date('2030-01-01T00:00:00.000Z');

    const { file } = rotateKeyFile(generateKeyFile(['h']), { activeFrom });

    expect(file.tokenKeys[0]?.activeFrom).toBe('2030-01-01T00:00:00.000Z');
    expect(file.tokenKeys[1]?.activeFrom).toBeUndefined();
  });

  it('does not change the file it was given', () => {
    const file = generateKeyFile(['h']);
    const copy = structuredClone(file);

    rotateKeyFile(file);

    expect(file).toEqual(copy);
  });
});

describe('retireKeyVersions', () => {
  function rotatedTwice(): KeyFile {
    const once = rotateKeyFile(generateKeyFile(['h'])).file;
    return rotateKeyFile(once).file;
  }

  it('removes an old token version and an old hop version', () => {
    const file = rotatedTwice();
    const oldToken = file.tokenKeys[2]?.kid as string;

    const retired = retireKeyVersions(file, [oldToken, 'h']);

    expect(retired.tokenKeys.map((version) => version.kid)).not.toContain(oldToken);
    expect(
      (retired.hopKeys.h as Array<{ kid: string }>).map((version) => version.kid),
    ).not.toContain('h');
  });

  it('refuses to retire the version that signs now', () => {
    const file = rotatedTwice();
    const current = file.tokenKeys[0]?.kid as string;

    expect(() => retireKeyVersions(file, [current])).toThrow(
      `key id ${current} is the version of the token key that signs now`,
    );
  });

  it('allows retiring a newer version that is not active yet', () => {
    const { file } = rotateKeyFile(generateKeyFile(['h']), {
      activeFrom: new Date(Date.now() + 60_000),
    });
    const pending = file.tokenKeys[0]?.kid as string;

    expect(retireKeyVersions(file, [pending]).tokenKeys).toHaveLength(1);
  });

  it('refuses to retire the only version of a key', () => {
    const file = generateKeyFile(['h']);

    expect(() => retireKeyVersions(file, ['h'])).toThrow(
      'key id h is the only version of the hop key h; rotate before retiring it',
    );
  });

  it('names a key id that is not in the file', () => {
    expect(() => retireKeyVersions(generateKeyFile([]), ['ghost'])).toThrow(
      'key id ghost is not in the key file; nothing was retired',
    );
  });
});

describe('key files with versions', () => {
  it('loads hop versions and rings', () => {
    const path = join(dir, 'keys.json');
    const { file } = rotateKeyFile(generateKeyFile(['gateway-accounts']));
    writeKeyFile(path, file);

    const keys = loadKeyFile(path);
    const ring = keys.hopRings.get('gateway-accounts');

    expect(keys.hop.has('gateway-accounts')).toBe(true);
    expect(keys.hop.size).toBe(2);
    expect(ring?.current.kid).toBe(
      (file.hopKeys['gateway-accounts'] as Array<{ kid: string }>)[0]?.kid,
    );
    expect(keys.tokens.current.kid).toBe(file.tokenKeys[0]?.kid);
    expect(keys.tokens.byKid.size).toBe(2);
  });

  it('still loads a key file written before versions existed', () => {
    const path = join(dir, 'keys.json');
    writeKeyFile(path, generateKeyFile(['gateway-accounts']));

    const keys = loadKeyFile(path);

    expect(keys.hopRings.get('gateway-accounts')?.current.kid).toBe('gateway-accounts');
  });

  it('rejects a hop key id used twice', () => {
    const path = join(dir, 'keys.json');
    const file = generateKeyFile(['a', 'b']);
    file.hopKeys.b = [{ kid: 'a', key: file.hopKeys.b as string }];
    writeKeyFile(path, file);

    expect(() => loadKeyFile(path)).toThrow('hop key id a appears more than once');
  });

  it('rejects an activeFrom that is not an ISO time', () => {
    const path = join(dir, 'keys.json');
    const file = generateKeyFile([]);
    writeFileSync(
      path,
      JSON.stringify({
        ...file,
        tokenKeys: [{ ...file.tokenKeys[0], activeFrom: 'tomorrow' }],
      }),
      { mode: 0o600 },
    );

    expect(() => loadKeyFile(path)).toThrow(/tokenKeys\.0\.activeFrom/);
  });

  it('replaces a key file atomically with mode 0600', () => {
    const path = join(dir, 'keys.json');
    writeKeyFile(path, generateKeyFile(['h']));
    const rotated = rotateKeyFile(readKeyFile(path)).file;

    replaceKeyFile(path, rotated);

    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readKeyFile(path)).toEqual(rotated);
  });
});
