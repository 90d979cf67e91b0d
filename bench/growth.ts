/**
 * Growth of the in-process replay store: bytes of heap per stored nonce, the cost of a claim as
 * the store fills, and that the size bound holds. Needs `--expose-gc` for stable heap figures;
 * without it the byte counts include garbage and read high.
 */
import { randomBytes } from 'node:crypto';

import { MemoryReplayStore } from '../src/replay/memory-replay-store.js';
import { StoreUnavailableError } from '../src/replay/replay-store.js';

/** One fill level of the store. */
export interface GrowthResult {
  nonces: number;
  bytesPerNonce: number;
  claimMicroseconds: number;
}

const gc = (globalThis as { gc?: () => void }).gc;

function heapUsed(): number {
  gc?.();
  return process.memoryUsage().heapUsed;
}

// Nonces and session ids as the SDK makes them: 16 random bytes, base64url (22 characters).
function token(): string {
  return randomBytes(16).toString('base64url');
}

/** Fills stores to each size in `sizes` and measures memory and claim cost. */
export async function runGrowthBenchmarks(sizes: readonly number[]): Promise<GrowthResult[]> {
  const results: GrowthResult[] = [];
  const sessions = Array.from({ length: 1000 }, token);
  for (const size of sizes) {
    const nonces = Array.from({ length: size }, token);
    const store = new MemoryReplayStore({ maxEntries: size + 10_000 });
    const before = heapUsed();
    for (let i = 0; i < size; i += 1)
      await store.claimNonce(sessions[i % sessions.length] as string, nonces[i] as string, 36);
    const after = heapUsed();
    // The inputs stay reachable until here, so only what the store itself keeps is counted.
    if (nonces.length !== size) throw new Error('nonce inputs were lost');

    const probes = Array.from({ length: 10_000 }, token);
    const start = process.hrtime.bigint();
    for (const probe of probes) await store.claimNonce(sessions[0] as string, probe, 36);
    const elapsed = Number(process.hrtime.bigint() - start);

    results.push({
      nonces: size,
      bytesPerNonce: (after - before) / size,
      claimMicroseconds: elapsed / 1000 / probes.length,
    });
    await store.close();
  }
  return results;
}

/** Returns true when a full store rejects the next claim rather than evicting a live nonce. */
export async function boundHolds(): Promise<boolean> {
  const store = new MemoryReplayStore({ maxEntries: 1000 });
  for (let i = 0; i < 1000; i += 1) await store.claimNonce('s', `nonce-${i}`, 36);
  try {
    await store.claimNonce('s', 'one-more', 36);
    return false;
  } catch (error) {
    return (
      error instanceof StoreUnavailableError &&
      (await store.claimNonce('s', 'nonce-0', 36)) === false
    );
  } finally {
    await store.close();
  }
}

export const gcExposed = gc !== undefined;
