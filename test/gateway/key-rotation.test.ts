import { describe, expect, it } from 'vitest';

import { main } from '../../src/cli/main.js';
import { loadKeyFile, readKeyFile, type RampartKeys } from '../../src/session/key-file.js';
import {
  replaceKeyFile,
  retireKeyVersions,
  rotateKeyFile,
  type RotateOptions,
} from '../../src/session/key-rotation.js';
import {
  startGatewayHarness,
  TEST_PASSWORD,
  type GatewayHarness,
} from '../helpers/gateway-harness.js';
import { loginSession, sendSigned } from '../helpers/signing-session.js';

/** Rotates the harness key file, adds the new hop key ids to the upstream, and reloads. */
function rotate(harness: GatewayHarness, options: RotateOptions = {}): RampartKeys {
  const path = harness.config.keysFile;
  replaceKeyFile(path, rotateKeyFile(readKeyFile(path), options).file);
  const keys = loadKeyFile(path);
  // The service side of a rotation: accept the new key id next to the old one.
  for (const [kid, key] of keys.hop) harness.keys.hop.set(kid, key);
  harness.gateway.reloadKeys(keys);
  return keys;
}

function tokenKid(token: string): string {
  const header = JSON.parse(Buffer.from(token.split('.')[0] as string, 'base64url').toString()) as {
    kid: string;
  };
  return header.kid;
}

async function captureOutput(run: () => Promise<number>) {
  const output: string[] = [];
  const stdout = process.stdout.write.bind(process.stdout);
  const stderr = process.stderr.write.bind(process.stderr);
  const capture = ((chunk: string) => output.push(chunk) > 0) as typeof process.stdout.write;
  process.stdout.write = capture;
  process.stderr.write = capture;
  try {
    const code = await run();
    return { code, output: output.join('') };
  } finally {
    process.stdout.write = stdout;
    process.stderr.write = stderr;
  }
}

describe('hop key rotation', () => {
  it('signs hops with the newest hop key version after a reload', async () => {
    const harness = await startGatewayHarness();
    try {
      const session = await loginSession(harness.url, 'alice', TEST_PASSWORD);
      await sendSigned(harness.url, session, { method: 'GET', target: '/api/items' });
      const keys = rotate(harness, { scope: 'hop' });
      const newest = keys.hopRings.get('gateway-echo')?.versions[0]?.kid;

      const after = await sendSigned(harness.url, session, { method: 'GET', target: '/api/items' });

      expect(after.status).toBe(200);
      expect(harness.upstream.calls.map((call) => call.hopKeyId)).toEqual(['gateway-echo', newest]);
      expect(newest).toMatch(/^gateway-echo-\d{4}-\d{2}-\d{2}-[0-9a-f]{6}$/);
    } finally {
      await harness.close();
    }
  });

  it('keeps signing with the old version until the new one is active', async () => {
    const harness = await startGatewayHarness();
    try {
      const session = await loginSession(harness.url, 'alice', TEST_PASSWORD);
      const keys = rotate(harness, { scope: 'hop', activeFrom: new Date(Date.now() + 1000) });
      const newest = keys.hopRings.get('gateway-echo')?.versions[0]?.kid;

      await sendSigned(harness.url, session, { method: 'GET', target: '/api/items' });
      await new Promise((resolve) => setTimeout(resolve, 1100));
      await sendSigned(harness.url, session, { method: 'GET', target: '/api/items' });

      expect(harness.upstream.calls.map((call) => call.hopKeyId)).toEqual(['gateway-echo', newest]);
    } finally {
      await harness.close();
    }
  });
});

describe('token key rotation', () => {
  it('opens old tokens, seals with the new key', async () => {
    const harness = await startGatewayHarness();
    try {
      const before = await loginSession(harness.url, 'alice', TEST_PASSWORD);
      const keys = rotate(harness, { scope: 'tokens' });

      const oldSession = await sendSigned(harness.url, before, {
        method: 'GET',
        target: '/api/items',
      });
      const after = await loginSession(harness.url, 'alice', TEST_PASSWORD);

      expect(oldSession.status).toBe(200);
      expect(tokenKid(before.token)).toBe(keys.tokens.versions[1]?.kid);
      expect(tokenKid(after.token)).toBe(keys.tokens.versions[0]?.kid);
    } finally {
      await harness.close();
    }
  });

  it('rejects a token whose key version was retired', async () => {
    const harness = await startGatewayHarness();
    try {
      const before = await loginSession(harness.url, 'alice', TEST_PASSWORD);
      const oldKid = tokenKid(before.token);
      rotate(harness, { scope: 'tokens' });
      const path = harness.config.keysFile;
      replaceKeyFile(path, retireKeyVersions(readKeyFile(path), [oldKid]));
      harness.gateway.reloadKeys(loadKeyFile(path));

      const rejected = await sendSigned(harness.url, before, {
        method: 'GET',
        target: '/api/items',
      });

      expect(rejected.status).toBe(401);
      expect(rejected.json.code).toBe('token_invalid');
      expect(harness.upstream.calls).toHaveLength(0);
    } finally {
      await harness.close();
    }
  });

  it('keeps the old keys when a reloaded file lacks a configured hop key', async () => {
    const harness = await startGatewayHarness();
    try {
      const keys = loadKeyFile(harness.config.keysFile);
      keys.hopRings.delete('gateway-echo');

      expect(() => harness.gateway.reloadKeys(keys)).toThrow(
        'option "services.echo.hopKeyId": key "gateway-echo" is not in the key file',
      );
      const session = await loginSession(harness.url, 'alice', TEST_PASSWORD);
      const response = await sendSigned(harness.url, session, {
        method: 'GET',
        target: '/api/items',
      });
      expect(response.status).toBe(200);
    } finally {
      await harness.close();
    }
  });
});

describe('rampart keygen --rotate and --retire', () => {
  it('adds versions that sign after --activate-in, then retires the old ones', async () => {
    const harness = await startGatewayHarness();
    try {
      const path = harness.config.keysFile;
      const oldToken = readKeyFile(path).tokenKeys[0]?.kid as string;

      const rotated = await captureOutput(() =>
        main(['node', 'rampart', 'keygen', '--rotate', '--keys', path, '--activate-in', '0']),
      );
      const file = readKeyFile(path);
      const retired = await captureOutput(() =>
        main(['node', 'rampart', 'keygen', '--retire', oldToken, 'gateway-echo', '--keys', path]),
      );

      expect(rotated.code).toBe(0);
      expect(rotated.output).toMatch(/^added token-\S+, gateway-echo-\S+; they sign from \S+Z\n/);
      expect(file.tokenKeys).toHaveLength(2);
      expect(file.tokenKeys[0]?.activeFrom).toBeDefined();
      expect(retired.code).toBe(0);
      expect(readKeyFile(path).tokenKeys.map((version) => version.kid)).not.toContain(oldToken);
      expect(readKeyFile(path).hopKeys['gateway-echo']).toHaveLength(1);
    } finally {
      await harness.close();
    }
  });

  it('refuses to retire the version that signs now and leaves the file alone', async () => {
    const harness = await startGatewayHarness();
    try {
      const path = harness.config.keysFile;
      const before = readKeyFile(path);
      const current = before.tokenKeys[0]?.kid as string;

      const result = await captureOutput(() =>
        main(['node', 'rampart', 'keygen', '--retire', current, '--keys', path]),
      );

      expect(result.code).toBe(1);
      expect(result.output).toContain(`key id ${current} is the only version of the token key`);
      expect(readKeyFile(path)).toEqual(before);
    } finally {
      await harness.close();
    }
  });

  it('asks for --keys when rotating', async () => {
    const result = await captureOutput(() => main(['node', 'rampart', 'keygen', '--rotate']));

    expect(result.code).toBe(1);
    expect(result.output).toContain('--rotate and --retire need --keys <file>');
  });

  it('asks for --out or --keys', async () => {
    const result = await captureOutput(() => main(['node', 'rampart', 'keygen']));

    expect(result.code).toBe(1);
    expect(result.output).toContain('keygen needs --out <file> to create a key file');
  });
});
