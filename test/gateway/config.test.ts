import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ConfigError, loadConfigFile, parseConfig } from '../../src/gateway/config.js';

describe('gateway configuration', () => {
  it('applies safe defaults', () => {
    const config = parseConfig({}, '/srv/rampart');

    expect(config.mode).toBe('development');
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(config.tokenTtlSeconds).toBe(300);
    expect(config.sessionTtlSeconds).toBe(28_800);
    expect(config.signature).toEqual({
      maxAgeSeconds: 30,
      maxFutureSeconds: 5,
      maxValiditySeconds: 60,
    });
    expect(config.bodyLimitBytes).toBe(1_048_576);
    expect(config.keysFile).toBe('/srv/rampart/var/keys.json');
  });

  const invalid: Array<[string, unknown, RegExp]> = [
    ['an unknown option', { tokenTTL: 5 }, /option "\(root\)": Unrecognized key: "tokenTTL"/],
    ['a string port', { listen: { port: '8080' } }, /option "listen\.port"/],
    ['a token life below 30 s', { tokenTtlSeconds: 5 }, /option "tokenTtlSeconds"/],
    [
      'a route to an unknown service',
      { routes: [{ method: 'GET', path: '/a', service: 'ghost', permission: 'p' }] },
      /option "routes\.0\.service": names service "ghost"/,
    ],
    [
      'a route with a bad pattern',
      {
        services: { s: { url: 'http://127.0.0.1:1', hopKeyId: 'k' } },
        routes: [{ method: 'GET', path: '/a/../b', service: 's', permission: 'p' }],
      },
      /option "routes\.0\.path": must be a path pattern/,
    ],
    [
      'a service URL with another scheme',
      { services: { s: { url: 'ftp://127.0.0.1/', hopKeyId: 'k' } } },
      /option "services\.s\.url"/,
    ],
    [
      'an unknown method',
      {
        services: { s: { url: 'http://127.0.0.1:1', hopKeyId: 'k' } },
        routes: [{ method: 'TRACE', path: '/a', service: 's', permission: 'p' }],
      },
      /option "routes\.0\.method"/,
    ],
  ];
  for (const [what, input, message] of invalid) {
    it(`names the option for ${what}`, () => {
      expect(() => parseConfig(input)).toThrow(ConfigError);
      expect(() => parseConfig(input)).toThrow(message);
    });
  }

  it('reports a file that is not JSON with its path', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'rampart-config-')), 'bad.json');
    writeFileSync(file, '{ "mode": ');

    expect(() => loadConfigFile(file)).toThrow(
      new RegExp(`configuration file ${file} is not valid JSON`),
    );
  });

  it('loads the demo configuration', () => {
    const config = loadConfigFile('rampart.config.json');

    expect(config.routes.map((route) => `${route.method} ${route.path}`)).toEqual([
      'GET /api/accounts',
      'GET /api/accounts/:id',
      'GET /api/accounts/:id/transactions',
      'POST /api/transfers',
      'GET /api/audit/entries',
      'GET /api/audit/verify',
      'GET /api/audit/activity',
    ]);
  });
});
