import { randomBytes } from 'node:crypto';

import { CompactEncrypt } from 'jose';
import { describe, expect, it } from 'vitest';

import type { TokenKeyRing } from '../../src/session/key-file.js';
import {
  openSessionToken,
  sealSessionToken,
  type SessionClaims,
} from '../../src/session/session-token.js';

const key = randomBytes(32);
const ring: TokenKeyRing = { current: { kid: 'k1', key }, byKid: new Map([['k1', key]]) };
const NOW = 1_800_000_000;
const claims: SessionClaims = {
  sid: 'sid-1',
  sub: 'u-alice',
  roles: ['customer'],
  permissions: ['accounts:read'],
  iat: NOW,
  exp: NOW + 300,
  sexp: NOW + 28_800,
  key: randomBytes(32).toString('base64url'),
};

async function sealWithHeader(
  header: Record<string, unknown>,
  payload: unknown = { v: 1, ...claims },
): Promise<string> {
  return new CompactEncrypt(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader(header as { alg: string; enc: string })
    .encrypt(key);
}

describe('session token', () => {
  it('opens a token that jose sealed', async () => {
    const token = await sealSessionToken(claims, ring);

    expect(openSessionToken(token, ring, NOW + 1)).toEqual({ v: 1, ...claims });
  });

  it('rejects a changed ciphertext, tag or header', async () => {
    const token = await sealSessionToken(claims, ring);
    const parts = token.split('.');
    const flip = (part: string) => (part[0] === 'A' ? 'B' : 'A') + part.slice(1);

    for (const index of [0, 2, 3, 4]) {
      const changed = [...parts];
      changed[index] = flip(changed[index] as string);
      expect(() => openSessionToken(changed.join('.'), ring, NOW + 1)).toThrow(
        expect.objectContaining({ code: 'token_invalid' }),
      );
    }
  });

  it('rejects a header with members beyond alg, enc and kid', async () => {
    const token = await sealWithHeader({ alg: 'dir', enc: 'A256GCM', kid: 'k1', zip: 'DEF' }).catch(
      async () => sealWithHeader({ alg: 'dir', enc: 'A256GCM', kid: 'k1', cty: 'JWT' }),
    );

    expect(() => openSessionToken(token, ring, NOW + 1)).toThrow(
      expect.objectContaining({ code: 'token_invalid' }),
    );
  });

  it('rejects an unknown kid', async () => {
    const token = await sealWithHeader({ alg: 'dir', enc: 'A256GCM', kid: 'retired' });

    expect(() => openSessionToken(token, ring, NOW + 1)).toThrow(
      expect.objectContaining({ code: 'token_invalid' }),
    );
  });

  it('rejects another content encryption', async () => {
    const token = await new CompactEncrypt(new TextEncoder().encode('{}'))
      .setProtectedHeader({ alg: 'dir', enc: 'A128GCM', kid: 'k1' })
      .encrypt(key.subarray(0, 16));

    expect(() => openSessionToken(token, ring, NOW + 1)).toThrow(
      expect.objectContaining({ code: 'token_invalid' }),
    );
  });

  it('rejects claims of the wrong shape', async () => {
    const token = await sealWithHeader(
      { alg: 'dir', enc: 'A256GCM', kid: 'k1' },
      { v: 1, ...claims, roles: 'admin' },
    );

    expect(() => openSessionToken(token, ring, NOW + 1)).toThrow(
      expect.objectContaining({ code: 'token_invalid' }),
    );
  });

  it('tells an expired token from an ended session', async () => {
    const token = await sealSessionToken(claims, ring);

    expect(() => openSessionToken(token, ring, NOW + 300)).toThrow(
      expect.objectContaining({ code: 'token_expired' }),
    );
    expect(() => openSessionToken(token, ring, NOW + 28_800)).toThrow(
      expect.objectContaining({ code: 'session_expired' }),
    );
  });

  it('rejects garbage of any shape with token_invalid', () => {
    for (const garbage of [
      '',
      '....',
      'a.b.c.d.e',
      'x'.repeat(9000),
      'eyJhbGciOiJkaXIifQ..AAAAAAAAAAAAAAAA.AA.AAAAAAAAAAAAAAAAAAAAAA',
    ]) {
      expect(() => openSessionToken(garbage, ring, NOW)).toThrow(
        expect.objectContaining({ code: 'token_invalid' }),
      );
    }
  });
});
