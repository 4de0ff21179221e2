import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    setupFiles: ['test/support/setup.ts'],
    // Suites spawn real processes and talk to real databases: give them room.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two test files at a time even on two cores (vitest's default there is one): most of a file's time is spent
    // waiting on the cairn processes it starts and on the servers, and the files share nothing (each makes its own
    // temp directories, databases and caches). On 2 cores: 1096 tests in 1071 s (2026-12-06), against 1422 s one at a time (the stop before; CI 1446 s).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    minWorkers: 1,
  },
});
