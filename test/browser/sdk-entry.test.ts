import { readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';

import { describe, expect, it } from 'vitest';

import * as browser from '../../src/client/browser/index.js';
import { UNSAFE_METHODS as BROWSER_UNSAFE_METHODS } from '../../src/client/browser/protocol.js';
import { CLIENT_TAG, UNSAFE_METHODS } from '../../src/gateway/client-signature.js';
import { RESPONSE_TAG } from '../../src/gateway/response-signature.js';
import { PROTOCOL_VERSION } from '../../src/session/handshake.js';

const ENTRY = resolve('src/client/browser/index.ts');
const IMPORT =
  /(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Follows the relative imports from `entry` and returns every file and bare specifier reached. */
function importGraph(entry: string): { files: string[]; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop() as string;
    if (files.has(file)) continue;
    files.add(file);
    for (const match of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const specifier = (match[1] ?? match[2]) as string;
      if (specifier.startsWith('.')) {
        pending.push(join(dirname(file), specifier.replace(/\.js$/, '.ts')));
      } else {
        packages.add(specifier);
      }
    }
  }
  return { files: [...files].map((file) => relative(process.cwd(), file)).sort(), packages };
}

describe('browser SDK entry', () => {
  it('imports no Node module, directly or through another file', () => {
    const { packages } = importGraph(ENTRY);

    expect([...packages].filter((name) => isBuiltin(name))).toEqual([]);
    expect([...packages]).toEqual(['structured-headers']);
  });

  it('stays clear of the Node-only signature and client modules', () => {
    const { files } = importGraph(ENTRY);

    for (const nodeOnly of [
      'src/signature/algorithms.ts',
      'src/signature/content-digest.ts',
      'src/signature/sign.ts',
      'src/signature/verify.ts',
      'src/client/rampart-client.ts',
      'src/session/handshake.ts',
    ]) {
      expect(files).not.toContain(nodeOnly);
    }
  });

  it('uses the gateway’s protocol constants', () => {
    expect(browser.PROTOCOL_VERSION).toBe(PROTOCOL_VERSION);
    expect(browser.CLIENT_TAG).toBe(CLIENT_TAG);
    expect(browser.RESPONSE_TAG).toBe(RESPONSE_TAG);
    expect([...BROWSER_UNSAFE_METHODS].sort()).toEqual([...UNSAFE_METHODS].sort());
  });
});
