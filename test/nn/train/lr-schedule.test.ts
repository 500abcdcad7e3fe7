import { describe, expect, it } from 'vitest';
import { COSINE_FLOOR, learningRateAt, WSD_STABLE_SHARE } from '../../../src/nn/train/lr-schedule.js';

describe('DeltaNet learning-rate schedule', () => {
  it('warms up linearly, then holds the peak (constant) whatever the total', () => {
    expect(learningRateAt(0, 1, 10)).toBeCloseTo(0.1);
    expect(learningRateAt(9, 1, 10)).toBeCloseTo(1);
    expect(learningRateAt(500, 1, 10)).toBe(1);
    expect(learningRateAt(500, 1, 10, 'constant', 600)).toBe(1);
  });

  it('cosine: the same warm-up, half the way down at mid-run, the floor at the last step', () => {
    expect(learningRateAt(4, 2, 10, 'cosine', 110)).toBeCloseTo(learningRateAt(4, 2, 10));
    expect(learningRateAt(10, 2, 10, 'cosine', 110)).toBeCloseTo(2);
    expect(learningRateAt(60, 2, 10, 'cosine', 110)).toBeCloseTo(2 * (COSINE_FLOOR + (1 - COSINE_FLOOR) / 2));
    expect(learningRateAt(110, 2, 10, 'cosine', 110)).toBeCloseTo(2 * COSINE_FLOOR);
    expect(learningRateAt(200, 2, 10, 'cosine', 110)).toBeCloseTo(2 * COSINE_FLOOR);
    for (let s = 10; s < 110; s++) {
      expect(learningRateAt(s + 1, 2, 10, 'cosine', 110)).toBeLessThanOrEqual(
        learningRateAt(s, 2, 10, 'cosine', 110),
      );
    }
  });

  it('wsd: the peak held for the stable share after warm-up, then the cosine over the rest to the floor', () => {
    expect(WSD_STABLE_SHARE).toBe(0.75);
    expect(learningRateAt(4, 2, 10, 'wsd', 110)).toBeCloseTo(learningRateAt(4, 2, 10));
    // Decay starts at 10 + 0.75·100 = 85; halfway down at 97.5; the floor at 110.
    expect(learningRateAt(60, 2, 10, 'wsd', 110)).toBe(2);
    expect(learningRateAt(85, 2, 10, 'wsd', 110)).toBeCloseTo(2);
    expect(learningRateAt(86, 2, 10, 'wsd', 110)).toBeLessThan(2);
    expect(learningRateAt(97.5, 2, 10, 'wsd', 110)).toBeCloseTo(2 * (COSINE_FLOOR + (1 - COSINE_FLOOR) / 2));
    expect(learningRateAt(110, 2, 10, 'wsd', 110)).toBeCloseTo(2 * COSINE_FLOOR);
  });
});
