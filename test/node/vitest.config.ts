import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'node',
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/node/**/*.test.ts'],
    environment: 'node',
    // Deterministic on a loaded 2-core machine: no timing assertions, generous timeouts.
    testTimeout: 60_000,
  },
});
