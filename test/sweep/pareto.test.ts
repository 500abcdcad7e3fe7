import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { dominates, paretoFrontIndices } from '../../src/sweep/pareto.js';

/** The definition, checked pair by pair. */
function bruteForce(costs: readonly (readonly number[])[]): number[] {
  const clean = costs.map((c) => c.map((v) => (Number.isNaN(v) ? Number.POSITIVE_INFINITY : v)));
  return clean.map((_, i) => i).filter((i) => !clean.some((other) => dominates(other, clean[i]!)));
}

// Few distinct values, so ties and equal vectors are common.
const value = fc.oneof(
  fc.integer({ min: 0, max: 5 }),
  fc.constant(Number.NaN),
  fc.double({ noNaN: true, min: -1e3, max: 1e3 }),
);

describe('Pareto front', () => {
  for (const dims of [2, 3]) {
    test.prop([fc.array(fc.array(value, { minLength: dims, maxLength: dims }), { maxLength: 60 })])(
      `${dims} objectives: equals brute force`,
      (costs) => {
        expect(paretoFrontIndices(costs)).toEqual(bruteForce(costs));
      },
    );
  }

  it('keeps equal vectors and drops dominated ones', () => {
    expect(
      paretoFrontIndices([
        [1, 5],
        [2, 2],
        [2, 2],
        [3, 3],
        [5, 1],
        [1, 6],
      ]),
    ).toEqual([0, 1, 2, 4]);
  });
});
