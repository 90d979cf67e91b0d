import { describe, expect, it } from 'vitest';

import { randomNonce } from '../../src/signature/sign.js';

describe('randomNonce', () => {
  it('never repeats across buffer refills', () => {
    // 1,000 nonces of 16 bytes span about four refills of the 4 KiB buffer.
    const nonces = Array.from({ length: 1000 }, () => randomNonce());

    expect(new Set(nonces).size).toBe(nonces.length);
  });

  it('encodes 16 bytes as base64url', () => {
    const nonce = randomNonce();

    expect(nonce).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(Buffer.from(nonce, 'base64url')).toHaveLength(16);
  });
});
