import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';

import { MemoryReplayStore } from '../../src/replay/memory-replay-store.js';
import { RevocationFile } from '../../src/replay/revocation-file.js';
import { StoreUnavailableError } from '../../src/replay/replay-store.js';

describe('MemoryReplayStore', () => {
  it('claims a nonce once per scope', async () => {
    const store = new MemoryReplayStore();

    expect(await store.claimNonce('session-a', 'n1', 60)).toBe(true);
    expect(await store.claimNonce('session-a', 'n1', 60)).toBe(false);
    expect(await store.claimNonce('session-b', 'n1', 60)).toBe(true);
  });

  it('keeps scopes apart even when they contain the separator', async () => {
    const store = new MemoryReplayStore();

    expect(await store.claimNonce('a:b', 'c', 60)).toBe(true);
    expect(await store.claimNonce('a', 'b:c', 60)).toBe(true);
  });

  it('keeps scopes apart that differ only above Latin-1', async () => {
    const store = new MemoryReplayStore();

    // U+0100 and U+0000 share their low byte, so a Latin-1 copy of the key would merge them.
    expect(await store.claimNonce('\u0100', 'nonce', 60)).toBe(true);
    expect(await store.claimNonce('\u0000', 'nonce', 60)).toBe(true);
    expect(await store.claimNonce('\u0100', 'nonce', 60)).toBe(false);
  });

  it('keeps a nonce at most a tenth of a second past its TTL', async () => {
    let now = 1_000_050;
    const store = new MemoryReplayStore({ now: () => now });
    await store.claimNonce('s', 'n', 2.25);

    now += 2_249;
    expect(await store.claimNonce('s', 'n', 2.25)).toBe(false);
    now += 100;
    expect(await store.claimNonce('s', 'n', 2.25)).toBe(true);
  });

  it('allows a nonce again after its TTL', async () => {
    let now = 1_000_000;
    const store = new MemoryReplayStore({ now: () => now });
    await store.claimNonce('s', 'n', 36);

    now += 35_000;
    expect(await store.claimNonce('s', 'n', 36)).toBe(false);
    now += 2_000;
    expect(await store.claimNonce('s', 'n', 36)).toBe(true);
  });

  it('claims exactly one of many concurrent identical nonces', async () => {
    const store = new MemoryReplayStore();

    const results = await Promise.all(
      Array.from({ length: 50 }, () => store.claimNonce('s', 'same', 60)),
    );

    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('fails closed at the bound instead of evicting a live nonce', async () => {
    const store = new MemoryReplayStore({ maxEntries: 2 });
    await store.claimNonce('s', 'n1', 60);
    await store.claimNonce('s', 'n2', 60);

    await expect(store.claimNonce('s', 'n3', 60)).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(await store.claimNonce('s', 'n1', 60)).toBe(false);
  });

  it('frees space once entries expire', async () => {
    let now = 0;
    const store = new MemoryReplayStore({ maxEntries: 2, now: () => now });
    await store.claimNonce('s', 'n1', 1);
    await store.claimNonce('s', 'n2', 1);

    now = 5_000;
    expect(await store.claimNonce('s', 'n3', 1)).toBe(true);
    expect(store.size).toBe(1);
  });

  it('revokes a session until the given time', async () => {
    let now = 0;
    const store = new MemoryReplayStore({ now: () => now });
    await store.revokeSession('sid', 10);

    expect(await store.isSessionRevoked('sid')).toBe(true);
    expect(await store.isSessionRevoked('other')).toBe(false);
    now = 10_001;
    expect(await store.isSessionRevoked('sid')).toBe(false);
  });
});

describe('MemoryReplayStore nonce history', () => {
  const withFile = async (run: (file: string) => Promise<void>) => {
    const dir = mkdtempSync(join(tmpdir(), 'rampart-history-'));
    try {
      await run(join(dir, 'revocations.sqlite'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it('guards nothing on a new revocation file', async () => {
    await withFile(async (file) => {
      const store = new MemoryReplayStore({ revocationFile: file });

      expect(store.nonceHistoryStart).toBe(0);
      await store.close();
    });
  });

  it('never moves its record back when the clock does', async () => {
    await withFile(async (file) => {
      let now = 2_000_000_000_000;
      const first = new MemoryReplayStore({ revocationFile: file, now: () => now });
      expect(await first.claimNonce('s', 'nonce-before-step', 60)).toBe(true);
      // The clock steps back ten seconds, and the process renews and stops on that clock.
      now -= 10_000;
      expect(await first.claimNonce('s', 'nonce-after-step', 60)).toBe(true);
      await first.close();

      const next = new MemoryReplayStore({ revocationFile: file, now: () => now });

      // The renewal before the step covered two seconds past the first claim.
      expect(next.nonceHistoryStart).toBe(2_000_000_003);
      await next.close();
    });
  });

  it('keeps the highest activity record written', async () => {
    await withFile(async (file) => {
      const writer = new RevocationFile(file);
      writer.recordActiveUntil(2_000_000_002_000);
      writer.recordActiveUntil(1_999_999_990_000);
      writer.close();

      const reader = new RevocationFile(file);

      expect(reader.previousActivity).toBe(2_000_000_002_000);
      reader.close();
    });
  });

  it('guards up to the last renewal after a crash', async () => {
    await withFile(async (file) => {
      const crashed = new MemoryReplayStore({ revocationFile: file, now: () => 1_000_000_250 });

      // The crashed store never closes, so its last renewal (two seconds ahead) stays.
      const next = new MemoryReplayStore({ revocationFile: file, now: () => 1_000_001_000 });

      expect(next.nonceHistoryStart).toBe(1_000_003);
      await next.close();
      await crashed.close();
    });
  });

  it('guards up to its own start on a lost file', async () => {
    await withFile(async (file) => {
      const store = new MemoryReplayStore({
        revocationFile: file,
        newFileMeansFresh: false,
        now: () => 1_000_000_250,
      });

      expect(store.nonceHistoryStart).toBe(1_000_001);
      await store.close();
    });
  });

  it('names a revocation file that is not a database', async () => {
    await withFile(async (file) => {
      writeFileSync(file, 'not a database, only text long enough to fill a header page');

      expect(() => new MemoryReplayStore({ revocationFile: file })).toThrow(
        `Failed to open the revocation file ${file}`,
      );
    });
  });

  it('guards up to its own start on an older file', async () => {
    await withFile(async (file) => {
      // A file written before the activity record existed contains only revocations.
      const older = new Database(file);
      older.exec(
        'CREATE TABLE revocations (session_id TEXT PRIMARY KEY, until_ms INTEGER NOT NULL) STRICT',
      );
      older.close();

      const store = new MemoryReplayStore({ revocationFile: file, now: () => 1_000_000_250 });

      expect(store.nonceHistoryStart).toBe(1_000_001);
      await store.close();
    });
  });

  it('renews its record when admitting past the renewal time', async () => {
    await withFile(async (file) => {
      let now = 1_000_000_000;
      const store = new MemoryReplayStore({ revocationFile: file, now: () => now });
      // The timer has not run, as if the event loop stalled for five seconds.
      now += 5000;
      expect(await store.claimNonce('s', 'nonce-after-stall', 60)).toBe(true);

      const reader = new Database(file, { readonly: true });
      const row = reader.prepare('SELECT active_until_ms FROM activity').get() as {
        active_until_ms: number;
      };
      reader.close();

      expect(row.active_until_ms).toBeGreaterThan(now);
      await store.close();
    });
  });
});
