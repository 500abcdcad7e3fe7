import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // FC_RUNS reaches every test.prop through this wrapper (test/fast-check-vitest.ts).
    alias: [
      {
        find: /^@fast-check\/vitest$/,
        replacement: fileURLToPath(new URL('./test/fast-check-vitest.ts', import.meta.url)),
      },
    ],
  },
  test: {
    // Explicit: vitest would otherwise also collect compiled copies under dist/.
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    exclude: ['dist/**', 'node_modules/**'],
    // FC_SEED / FC_PATH / FC_RUNS for every property (docs/testing.md).
    setupFiles: ['test/props-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // ink switches to a final-frame-only renderer when it detects CI (is-in-ci, read at import).
    // The TUI tests exercise the interactive renderer a user's terminal gets, so CI runs must see
    // the same; reporter selection never reads process.env in tests (io.env is injected).
    env: { CI: 'false' },
  },
});
