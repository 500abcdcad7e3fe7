import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Explicit: vitest would otherwise also collect compiled copies under dist/.
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    exclude: ['dist/**', 'node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
