import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import type { Dataflow } from '../../src/core/array.js';
import { createFoldSequence, type FoldOverlap } from '../../src/core/fold-overlap.js';
import { cyclesPerFold } from '../../src/core/fold-timing.js';

function run(
  streams: readonly number[],
  rows: number,
  cols: number,
  df: Dataflow,
  overlap: FoldOverlap,
): number {
  const seq = createFoldSequence({ rows, cols }, df, overlap);
  for (const t of streams) seq.add(t);
  return seq.cycles();
}

describe('fold overlap (hand-computed, docs/model.md "Fold overlap")', () => {
  it('WS 32x32, three folds of T = 10: none 312, preload 248, pipelined 168', () => {
    // none: 3 × (2·32 + 32 + 10 − 2) = 3 × 104; preload: 32 + 3 × (10 + 62);
    // pipelined: 32 + 2 × max(10, 32) + 10 + 62.
    expect(run([10, 10, 10], 32, 32, 'ws', 'none')).toBe(312);
    expect(run([10, 10, 10], 32, 32, 'ws', 'preload')).toBe(248);
    expect(run([10, 10, 10], 32, 32, 'ws', 'pipelined')).toBe(168);
  });

  it('OS 32x32, two folds of T = 10: none = preload = 144, pipelined 20 + 62 = 82', () => {
    expect(run([10, 10], 32, 32, 'os', 'none')).toBe(144);
    expect(run([10, 10], 32, 32, 'os', 'preload')).toBe(144);
    expect(run([10, 10], 32, 32, 'os', 'pipelined')).toBe(82);
  });

  it('a fold with stream 0 is never loaded', () => {
    expect(run([0, 0], 4, 4, 'ws', 'pipelined')).toBe(0);
    expect(run([5, 0, 5], 4, 4, 'ws', 'none')).toBe(run([5, 5], 4, 4, 'ws', 'none'));
  });

  it('add(T, count) equals count single adds', () => {
    for (const overlap of ['none', 'preload', 'pipelined'] as const) {
      const seq = createFoldSequence({ rows: 8, cols: 3 }, 'is', overlap);
      seq.add(2);
      seq.add(5, 4);
      seq.add(1);
      expect(seq.cycles()).toBe(run([2, 5, 5, 5, 5, 1], 8, 3, 'is', overlap));
    }
  });
});

describe('fold overlap properties', () => {
  test.prop([
    fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 20 }),
    fc.integer({ min: 1, max: 64 }),
    fc.integer({ min: 1, max: 64 }),
    fc.constantFrom<Dataflow>('os', 'ws', 'is'),
  ])('none ≥ preload ≥ pipelined, and none is SCALE-Sim’s Σ cycles per fold', (streams, rows, cols, df) => {
    const none = run(streams, rows, cols, df, 'none');
    const preload = run(streams, rows, cols, df, 'preload');
    const pipelined = run(streams, rows, cols, df, 'pipelined');
    expect(none).toBe(
      streams.filter((t) => t > 0).reduce((s, t) => s + cyclesPerFold(t, { rows, cols }, df), 0),
    );
    expect(none).toBeGreaterThanOrEqual(preload);
    expect(preload).toBeGreaterThanOrEqual(pipelined);
    // However folds overlap, every streamed step still takes its cycle.
    expect(pipelined).toBeGreaterThanOrEqual(streams.reduce((s, t) => s + t, 0));
  });
});
