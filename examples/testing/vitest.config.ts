import { defineConfig } from 'vitest/config';

// Test files run in parallel workers (threads or forks, as you like): each test still has a database of its own.
export default defineConfig({ test: { include: ['*.test.ts'] } });
