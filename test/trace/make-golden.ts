/**
 * Regenerates test/golden/traces/tiny.safetensors (the example trace of docs/trace-format.md):
 *   npx tsx test/trace/make-golden.ts
 * test/trace/golden.test.ts checks that the committed file is exactly what this writes.
 */
import { fileURLToPath } from 'node:url';
import { writeTinyTrace } from './fixtures.js';

export const GOLDEN_TINY_TRACE = fileURLToPath(new URL('../golden/traces/tiny.safetensors', import.meta.url));
export const GOLDEN_TINY_OPTIONS = { seed: 7, steps: 4 } as const;

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await writeTinyTrace(GOLDEN_TINY_TRACE, GOLDEN_TINY_OPTIONS);
  console.log(`wrote ${GOLDEN_TINY_TRACE}`);
}
