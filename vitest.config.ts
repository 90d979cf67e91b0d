import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Suites share loopback ports and SQLite files only through their own temp dirs,
    // but argon2 hashing is CPU-heavy, so files run with limited parallelism.
    maxWorkers: 2,
  },
});
