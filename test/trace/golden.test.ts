import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { writeTinyTrace } from './fixtures.js';
import { GOLDEN_TINY_OPTIONS, GOLDEN_TINY_TRACE } from './make-golden.js';

test('the golden example trace is exactly what its seed writes (same seed, same bytes)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'deltasim-golden-'));
  try {
    const path = join(dir, 'tiny.safetensors');
    await writeTinyTrace(path, GOLDEN_TINY_OPTIONS);
    const fresh = await readFile(path);
    const golden = await readFile(GOLDEN_TINY_TRACE);
    expect(fresh.equals(golden)).toBe(true);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
