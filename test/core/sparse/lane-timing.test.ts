import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import type { Dataflow } from '../../../src/core/array.js';
import { mapGemm } from '../../../src/core/dataflow-mapping.js';
import { cyclesPerFold } from '../../../src/core/fold-timing.js';
import type { OperandSupport, SkipGranularity } from '../../../src/core/hardware.js';
import { laneTiming } from '../../../src/core/sparse/lane-timing.js';
import { type LoweredSparseLayer, lowerSparseLayer } from '../../../src/core/sparse/layer-lowering.js';
import { prepareInstance } from '../../../src/core/sparse/operand-bits.js';
import {
  arbitraryDataflow,
  arbitraryLayer,
  arbitraryPattern,
  arbitrarySupport,
  packBits,
} from '../../../src/testing/index.js';

const arrayArb = fc.record({ rows: fc.integer({ min: 1, max: 6 }), cols: fc.integer({ min: 1, max: 6 }) });
const lookaheadArb = fc.oneof(
  fc.constant(Number.POSITIVE_INFINITY),
  fc.integer({ min: 1, max: 40 }),
  fc.constantFrom(32, 64),
);

const caseArb = arbitraryLayer().chain((c) =>
  fc.record({
    layer: fc.constant(c),
    a: arbitraryPattern(c.aElements),
    b: arbitraryPattern(c.bElements),
    aSupport: arbitrarySupport,
    bSupport: arbitrarySupport,
    dataflow: arbitraryDataflow,
    array: arrayArb,
    lookahead: lookaheadArb,
  }),
);

interface Run {
  readonly low: LoweredSparseLayer;
  readonly a: Uint8Array;
  readonly b: Uint8Array;
  readonly aSupport: OperandSupport;
  readonly bSupport: OperandSupport;
  readonly dataflow: Dataflow;
  readonly array: { rows: number; cols: number };
}

function cyclesOf(run: Run, granularity: SkipGranularity, lookaheadSteps: number): number {
  const structuralSkip = run.aSupport === 'skip' || run.bSupport === 'skip';
  let cycles = 0;
  for (let i = 0; i < run.low.instances; i++) {
    const { lanes } = prepareInstance(run.low, i, packBits(run.a), packBits(run.b), {
      aSupport: run.aSupport,
      bSupport: run.bSupport,
      structuralSkip,
      dataflow: run.dataflow,
    });
    cycles += laneTiming(lanes, {
      array: run.array,
      dataflow: run.dataflow,
      granularity,
      lookaheadSteps,
    }).cycles;
  }
  return cycles;
}

function denseCycles(run: Run): number {
  const mapping = mapGemm(run.low.gemm, run.array, run.dataflow);
  return run.low.instances * mapping.folds * cyclesPerFold(mapping.temporal, run.array, run.dataflow);
}

/** Element timing by brute force: per fold, per window, the busiest lane's executed MACs. */
function bruteElementCycles(run: Run, lookahead: number): number {
  const { low, dataflow, array } = run;
  const { m: M, n: N, k: K } = low.gemm;
  const structuralSkip = run.aSupport === 'skip' || run.bSupport === 'skip';
  const dims = { m: M, n: N, k: K };
  const roles = { os: ['m', 'n', 'k'], ws: ['k', 'n', 'm'], is: ['k', 'm', 'n'] }[dataflow] as (
    | 'm'
    | 'n'
    | 'k'
  )[];
  const [rd, cd, td] = roles as ['m' | 'n' | 'k', 'm' | 'n' | 'k', 'm' | 'n' | 'k'];
  const Sr = dims[rd];
  const Sc = dims[cd];
  const T = dims[td];
  let cycles = 0;
  for (let i = 0; i < low.instances; i++) {
    const executed = (r: number, c: number, t: number): boolean => {
      const at = { m: 0, n: 0, k: 0 };
      at[rd] = r;
      at[cd] = c;
      at[td] = t;
      const idx = low.aIndex[at.m * K + at.k]!;
      const aStruct = idx < 0 || (low.operandCausal && at.k > at.m);
      const outStruct = low.outputCausal && at.n > at.m;
      if (structuralSkip && (aStruct || outStruct)) return false;
      const a = aStruct ? 0 : run.a[i * low.aInstanceStride + idx]!;
      const b = run.b[i * low.bInstanceStride + at.k * low.bRowStride + at.n * low.bColStride]!;
      if (run.aSupport === 'skip' && !a) return false;
      if (run.bSupport === 'skip' && !b) return false;
      return true;
    };
    for (let r0 = 0; r0 < Sr; r0 += array.rows) {
      for (let c0 = 0; c0 < Sc; c0 += array.cols) {
        let stream = 0;
        const w = Math.min(lookahead, T);
        for (let s = 0; s < T; s += w) {
          let max = 0;
          for (let r = r0; r < Math.min(r0 + array.rows, Sr); r++) {
            for (let c = c0; c < Math.min(c0 + array.cols, Sc); c++) {
              let work = 0;
              for (let t = s; t < Math.min(s + w, T); t++) if (executed(r, c, t)) work++;
              max = Math.max(max, work);
            }
          }
          stream += max;
        }
        if (stream > 0) cycles += cyclesPerFold(stream, array, dataflow);
      }
    }
  }
  return cycles;
}

describe('lane timing', () => {
  test.prop([caseArb], { numRuns: 200 })(
    'element timing equals a per-lane brute force (any look-ahead)',
    (c) => {
      const run: Run = { ...c, low: lowerSparseLayer(c.layer.spec, c.layer.bOperand) };
      expect(cyclesOf(run, 'element', c.lookahead)).toBe(bruteElementCycles(run, c.lookahead));
    },
  );

  test.prop([caseArb], { numRuns: 200 })(
    'element(∞) ≤ element(W) ≤ element(1) ≤ vector ≤ fold ≤ dense cycles',
    (c) => {
      const run: Run = { ...c, low: lowerSparseLayer(c.layer.spec, c.layer.bOperand) };
      const unbounded = cyclesOf(run, 'element', Number.POSITIVE_INFINITY);
      const windowed = cyclesOf(run, 'element', c.lookahead);
      const one = cyclesOf(run, 'element', 1);
      const vector = cyclesOf(run, 'vector', 1);
      const fold = cyclesOf(run, 'fold', 1);
      expect(unbounded).toBeLessThanOrEqual(windowed);
      expect(windowed).toBeLessThanOrEqual(one);
      expect(one).toBeLessThanOrEqual(vector);
      expect(vector).toBeLessThanOrEqual(fold);
      expect(fold).toBeLessThanOrEqual(denseCycles(run));
    },
  );

  test.prop([caseArb, fc.nat(), fc.boolean()], { numRuns: 200 })(
    'adding a zero to a mask never increases element cycles',
    (c, pick, inA) => {
      const run: Run = { ...c, low: lowerSparseLayer(c.layer.spec, c.layer.bOperand) };
      const before = cyclesOf(run, 'element', c.lookahead);
      const a = Uint8Array.from(c.a);
      const b = Uint8Array.from(c.b);
      const target = inA ? a : b;
      if (target.length > 0) target[pick % target.length] = 0;
      expect(cyclesOf({ ...run, a, b }, 'element', c.lookahead)).toBeLessThanOrEqual(before);
    },
  );

  test.prop([caseArb, fc.constantFrom<SkipGranularity>('element', 'vector', 'fold')], { numRuns: 150 })(
    'all-dense masks, or no skipping, reproduce the dense engine exactly (mapGemm + cyclesPerFold)',
    (c, granularity) => {
      const low = lowerSparseLayer(c.layer.spec, c.layer.bOperand);
      const noSkip: Run = {
        ...c,
        low,
        aSupport: c.aSupport === 'skip' ? 'gate' : c.aSupport,
        bSupport: c.bSupport === 'skip' ? 'none' : c.bSupport,
      };
      expect(cyclesOf(noSkip, granularity, c.lookahead)).toBe(denseCycles(noSkip));
      // All-ones masks with skipping on: only structural zeros (padding, causal) may be skipped.
      const ones: Run = {
        ...c,
        low,
        a: new Uint8Array(c.a.length).fill(1),
        b: new Uint8Array(c.b.length).fill(1),
      };
      const hasStructural =
        Array.from(low.aIndex).some((x) => x < 0) || low.outputCausal || low.operandCausal;
      if (!hasStructural) expect(cyclesOf(ones, granularity, c.lookahead)).toBe(denseCycles(ones));
    },
  );

  test.prop([caseArb], { numRuns: 150 })('gating never changes cycles', (c) => {
    const low = lowerSparseLayer(c.layer.spec, c.layer.bOperand);
    const base: Run = { ...c, low, aSupport: 'none', bSupport: 'none' };
    for (const [aSupport, bSupport] of [
      ['gate', 'none'],
      ['none', 'gate'],
      ['gate', 'gate'],
    ] as const) {
      expect(cyclesOf({ ...base, aSupport, bSupport }, 'element', c.lookahead)).toBe(
        cyclesOf(base, 'element', c.lookahead),
      );
    }
  });

  it('a fold with no work costs zero cycles', () => {
    const low = lowerSparseLayer(
      {
        name: 'fc',
        op: 'dense',
        inputShape: [4, 8],
        operandShape: [8, 4],
        gemm: { m: 4, n: 4, k: 8 },
        gemmCount: 1,
      },
      'weight',
    );
    const run: Run = {
      low,
      a: new Uint8Array(32),
      b: new Uint8Array(32).fill(1),
      aSupport: 'skip',
      bSupport: 'none',
      dataflow: 'os',
      array: { rows: 4, cols: 4 },
    };
    expect(cyclesOf(run, 'element', Number.POSITIVE_INFINITY)).toBe(0);
  });
});
