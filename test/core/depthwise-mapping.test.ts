import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import type { Dataflow } from '../../src/core/array.js';
import { groupedFoldSequence } from '../../src/core/depthwise-mapping.js';
import { createFoldSequence, FOLD_OVERLAPS } from '../../src/core/fold-overlap.js';
import type { HardwareModel } from '../../src/core/hardware.js';
import { EYERISS_LIKE, SCALESIM_DEFAULT } from '../../src/core/presets.js';
import { createLayerReplay } from '../../src/core/replay-engine.js';
import type { SparseLayerSpec } from '../../src/core/sparse/layer-lowering.js';
import { packBits } from '../../src/testing/index.js';

/** DeltaNet's causal short convolution: width 4 over 64 channels, one output per token. */
const SHORT_CONV: SparseLayerSpec = {
  name: 'conv_q',
  op: 'depthwise',
  inputShape: [1, 4, 64],
  operandShape: [1, 4, 64, 1],
  kernel: [1, 4],
  gemm: { m: 1, n: 1, k: 4 },
  gemmCount: 64,
};

describe('depthwise mapping: hand-computed (docs/model.md, "Depthwise mapping")', () => {
  it('OS 32×32: 64 one-output channels in one fold of 2 slots (4224 → 70 cycles)', () => {
    // Tiles 1 × 1: p = q = 32, g = 64, slots = max(64/32, 64/32) = 2 of 32 channels streaming
    // side by side: stream 2 · 4 = 8, one fill and drain: 8 + 32 + 32 − 2 = 70. Per channel it was
    // 64 · (4 + 62) = 4224.
    const step = createLayerReplay(SHORT_CONV, SCALESIM_DEFAULT, { bOperand: 'weight', delta: false }).step({
      keyFrame: true,
    });
    expect(step).toMatchObject({ computeCycles: 70, denseCycles: 70, macs: 256, executedMacs: 256 });
  });

  it('WS 12×14 (eyeriss-like): 4 × 1 weight tiles, groups of 42 and 22 channels (2368 → 94 cycles)', () => {
    // p = floor(12 / 4) = 3, q = 14: g = 42, slots = max(14, 3) = 14 of 3 channels; T = M = 1, so a
    // slot streams 1 step: 2·12 + 14 + 14 − 2 = 50. The last 22 channels: 8 slots → 44. Per channel
    // it was 64 · (2·12 + 14 + 1 − 2) = 2368.
    const replay = createLayerReplay(SHORT_CONV, EYERISS_LIKE, { bOperand: 'weight', delta: false });
    expect(replay.step({ keyFrame: true })).toMatchObject({ computeCycles: 94, executedMacs: 256 });
    expect(replay.report().folds).toBe(2);
  });

  it('a channel whose tile fills the array keeps its own folds', () => {
    const wide: SparseLayerSpec = {
      ...SHORT_CONV,
      inputShape: [40, 4, 2],
      operandShape: [1, 4, 2, 1],
      gemm: { m: 40, n: 1, k: 4 },
      gemmCount: 2,
    };
    // IS: rows k = 4 → p = 8, columns m = 40 > 32 → q = 1: g = 2, slots = max(1, 2) = 2, so the
    // two channels stream one after another in one fold per column fold: 2 · (2·32 + 32 + 2 − 2).
    const is: HardwareModel = { ...SCALESIM_DEFAULT, dataflow: 'is' };
    const step = createLayerReplay(wide, is, { bOperand: 'weight', delta: false }).step({ keyFrame: true });
    expect(step.computeCycles).toBe(2 * (2 * 32 + 32 + 2 - 2));
  });
});

/** Brute force: MACs of a depthwise conv (stride 1, no padding) whose input and weight are both non-zero. */
function bruteExecuted(
  h: number,
  w: number,
  c: number,
  fh: number,
  fw: number,
  a: number[],
  b: number[],
): number {
  let n = 0;
  for (let ch = 0; ch < c; ch++)
    for (let oh = 0; oh + fh <= h; oh++)
      for (let ow = 0; ow + fw <= w; ow++)
        for (let y = 0; y < fh; y++)
          for (let x = 0; x < fw; x++)
            if (a[((oh + y) * w + ow + x) * c + ch] && b[(y * fw + x) * c + ch]) n++;
  return n;
}

const hardware = fc.record({
  rows: fc.integer({ min: 2, max: 12 }),
  cols: fc.integer({ min: 2, max: 12 }),
  dataflow: fc.constantFrom<Dataflow>('os', 'ws', 'is'),
  support: fc.constantFrom('none', 'gate', 'skip') as fc.Arbitrary<'none' | 'gate' | 'skip'>,
  granularity: fc.constantFrom('element', 'vector', 'fold') as fc.Arbitrary<'element' | 'vector' | 'fold'>,
  lookahead: fc.constantFrom(1, 3, Number.POSITIVE_INFINITY),
});

describe('depthwise mapping: properties', () => {
  test.prop([
    fc.integer({ min: 1, max: 5 }),
    fc.integer({ min: 1, max: 5 }),
    fc.integer({ min: 2, max: 9 }),
    fc.integer({ min: 1, max: 3 }),
    fc.integer({ min: 1, max: 3 }),
    hardware,
    fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  ])(
    'never changes executed / skipped MACs and never takes more cycles than one fold per channel',
    (h0, w0, c, fh, fw, hwp, seed) => {
      const h = h0 + fh - 1;
      const w = w0 + fw - 1;
      let state = seed;
      const bit = (): number => {
        state = (state * 1103515245 + 12345) & 0x7fffffff;
        return (state >> 16) & 1;
      };
      const a = Array.from({ length: h * w * c }, bit);
      const b = Array.from({ length: fh * fw * c }, bit);
      const hw: HardwareModel = {
        ...SCALESIM_DEFAULT,
        array: { rows: hwp.rows, cols: hwp.cols },
        dataflow: hwp.dataflow,
        support: { activations: hwp.support, weights: hwp.support, deltas: hwp.support },
        granularity: hwp.granularity,
        lookaheadSteps: hwp.lookahead,
      };
      const spec = (channels: number): SparseLayerSpec => ({
        name: 'dw',
        op: 'depthwise',
        inputShape: [h, w, channels],
        operandShape: [fh, fw, channels, 1],
        kernel: [fh, fw],
        gemm: { m: h0 * w0, n: 1, k: fh * fw },
        gemmCount: channels,
      });
      const grouped = createLayerReplay(spec(c), hw, { bOperand: 'weight', delta: false, baseline: false });
      const step = grouped.step({ aMask: packBits(a), bMask: packBits(b), keyFrame: true });
      const report = grouped.report();
      // The old lowering: every channel alone, its own folds (overlap none: the channels' cycles add).
      let perChannel = 0;
      let executed = 0;
      for (let ch = 0; ch < c; ch++) {
        const one = createLayerReplay(spec(1), hw, { bOperand: 'weight', delta: false, baseline: false });
        const s = one.step({
          aMask: packBits(a.filter((_, i) => i % c === ch)),
          bMask: packBits(b.filter((_, i) => i % c === ch)),
          keyFrame: true,
        });
        perChannel += s.computeCycles;
        executed += s.executedMacs;
      }
      expect(step.executedMacs).toBe(executed);
      const skipped = report.skippedMacs;
      expect(step.executedMacs + skipped.zeroActivation + skipped.zeroWeight + skipped.structural).toBe(
        step.macs,
      );
      if (hwp.support === 'skip') expect(step.executedMacs).toBe(bruteExecuted(h, w, c, fh, fw, a, b));
      expect(step.computeCycles).toBeLessThanOrEqual(perChannel);
    },
  );

  test.prop([
    fc.array(fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 2, maxLength: 2 }), {
      minLength: 1,
      maxLength: 12,
    }),
    fc.integer({ min: 1, max: 6 }),
    fc.integer({ min: 1, max: 4 }),
    fc.boolean(),
    fc.constantFrom<Dataflow>('os', 'ws', 'is'),
    fc.constantFrom(...FOLD_OVERLAPS),
  ])(
    'a grouped fold sequence never costs more than the channels’ own folds, under every overlap',
    (streams, g, conc, independent, dataflow, overlap) => {
      const array = { rows: 4, cols: 5 };
      const plain = createFoldSequence(array, dataflow, overlap);
      const grouped = groupedFoldSequence(createFoldSequence(array, dataflow, overlap), {
        groupSize: g,
        concurrency: Math.min(conc, g),
        channelFolds: 2,
        temporal: 6,
        independentLanes: independent,
      });
      for (const channel of streams) {
        for (const s of channel) {
          plain.add(s);
          grouped.add(s);
        }
      }
      expect(grouped.cycles()).toBeLessThanOrEqual(plain.cycles());
      expect(grouped.groupFolds).toBe(2 * Math.ceil(streams.length / g));
    },
  );
});
