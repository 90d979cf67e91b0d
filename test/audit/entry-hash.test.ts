import { createHash } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import {
  checkpointPayload,
  computeEntryHash,
  GENESIS_HASH,
  type AuditEntry,
} from '../../src/audit/index.js';

const base: Omit<AuditEntry, 'hash'> = {
  seq: 7,
  time: '2025-01-02T03:04:05.678Z',
  event: 'request',
  outcome: 'rejected',
  code: 'nonce_replayed',
  subject: 'alice',
  sessionId: 'session-1',
  requestId: 'request-1',
  method: 'POST',
  path: '/api/payments',
  bodyDigest: 'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:',
  clientAddress: '127.0.0.1',
  service: 'payments',
  upstreamStatus: 201,
  latencyMs: 12.5,
  prevHash: GENESIS_HASH,
};

describe('computeEntryHash', () => {
  it('hashes the versioned JSON array in fixed order', () => {
    const canonical = JSON.stringify([
      'rampart-audit/v1',
      GENESIS_HASH,
      7,
      '2025-01-02T03:04:05.678Z',
      'request',
      'rejected',
      'nonce_replayed',
      'alice',
      'session-1',
      'request-1',
      'POST',
      '/api/payments',
      'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:',
      '127.0.0.1',
      'payments',
      201,
      12.5,
    ]);
    const expected = createHash('sha256').update(canonical).digest('hex');

    expect(computeEntryHash(base)).toBe(expected);
  });

  it('writes missing fields as null', () => {
    const entry: Omit<AuditEntry, 'hash'> = {
      seq: 1,
      time: '2025-01-02T03:04:05.678Z',
      event: 'logout',
      outcome: 'success',
      prevHash: GENESIS_HASH,
    };
    const nulls = Array.from({ length: 11 }, () => null);
    const canonical = JSON.stringify([
      'rampart-audit/v1',
      GENESIS_HASH,
      1,
      '2025-01-02T03:04:05.678Z',
      'logout',
      'success',
      ...nulls,
    ]);
    const expected = createHash('sha256').update(canonical).digest('hex');

    expect(computeEntryHash(entry)).toBe(expected);
  });

  it('ignores the order of object keys', () => {
    const reversed = Object.fromEntries(Object.entries(base).reverse()) as typeof base;

    expect(computeEntryHash(reversed)).toBe(computeEntryHash(base));
  });

  it.each(Object.keys(base) as (keyof typeof base)[])('changes when %s changes', (field) => {
    const value = base[field];
    const changed = { ...base, [field]: typeof value === 'number' ? value + 1 : `${value}x` };

    expect(computeEntryHash(changed)).not.toBe(computeEntryHash(base));
  });

  it('distinguishes a missing field from an empty string', () => {
    const withoutCode = { ...base };
    delete withoutCode.code;

    expect(computeEntryHash(withoutCode)).not.toBe(computeEntryHash({ ...base, code: '' }));
  });

  it('keeps field boundaries when values contain separators', () => {
    const a = { ...base, subject: 'a","b', sessionId: 'c' };
    const b = { ...base, subject: 'a', sessionId: 'b","c' };

    expect(computeEntryHash(a)).not.toBe(computeEntryHash(b));
  });
});

describe('checkpointPayload', () => {
  it('joins version, seq and hash with newlines', () => {
    const payload = checkpointPayload(100, 'ab'.repeat(32));

    expect(payload.toString('utf8')).toBe(`rampart-audit-checkpoint/v1\n100\n${'ab'.repeat(32)}`);
  });
});
