import { fc, test } from '@fast-check/vitest';
import { expect } from 'vitest';
import type { SweepObjective } from '../../src/tui/sweep-events.js';
import { dominates, paretoFront, type SweepPoint } from '../../src/tui/sweep-state.js';

const OBJECTIVES: readonly SweepObjective[] = [
  { metric: 'cycles', goal: 'min' },
  { metric: 'throughput', goal: 'max' },
];

const point = fc.record({
  cycles: fc.integer({ min: 1, max: 50 }),
  throughput: fc.integer({ min: 1, max: 50 }),
});

test.prop([fc.array(point, { minLength: 1, maxLength: 40 })])(
  'the Pareto front is non-empty, mutually non-dominated, and dominates every point left out',
  (metrics) => {
    const points: SweepPoint[] = metrics.map((m, index) => ({ index, params: {}, metrics: m }));
    const front = paretoFront(points, OBJECTIVES);
    expect(front.length).toBeGreaterThan(0);
    for (const a of front) for (const b of front) expect(dominates(a, b, OBJECTIVES)).toBe(false);
    for (const p of points) {
      if (!front.includes(p)) expect(front.some((f) => dominates(f, p, OBJECTIVES))).toBe(true);
    }
  },
);
