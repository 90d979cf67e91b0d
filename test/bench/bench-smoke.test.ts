import { spawnSync } from 'node:child_process';

import { describe, expect, it } from 'vitest';

// Runs `npm run bench -- --quick` as a smoke test: every case must run and print its row.
// Timings are printed, never asserted.
describe('benchmark smoke run', () => {
  it('runs every case in quick mode', () => {
    const result = spawnSync('node_modules/.bin/tsx', ['bench/run.ts', '--quick'], {
      encoding: 'utf8',
      timeout: 240_000,
    });

    expect(result.status).toBe(0);
    for (const row of [
      'floor: one HMAC-SHA256',
      'Rampart: whole verification step',
      'http-message-signatures',
      'hawk',
      'audit append',
      '(b) plain Fastify proxy',
      '(c) Rampart, embedded stores',
      '(d) Rampart, Redis and PostgreSQL',
    ]) {
      expect(result.stdout).toContain(row);
    }
    // Every load run must have had no socket errors and only 2xx answers, or its figures
    // would measure rejections rather than the gateway.
    const loadRows = result.stdout.split('\n').filter((line) => line.startsWith('| ('));
    expect(loadRows.length).toBe(6);
    for (const row of loadRows) {
      const cells = row.split('|').map((cell) => cell.trim());
      expect(cells.at(-3)).toBe('0');
      expect(cells.at(-2)).toBe('0');
    }
  }, 300_000);
});
