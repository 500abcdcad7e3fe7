import { describe, expect, it } from 'vitest';
import { collectRun } from '../../src/core/dense-engine.js';
import type { HardwareModel } from '../../src/core/hardware.js';
import { reconstructedOperands } from '../../src/core/layer-plan.js';
import { SCALESIM_DEFAULT } from '../../src/core/presets.js';
import { createLayerReplay, replayRun } from '../../src/core/replay-engine.js';
import type { SparseLayerSpec } from '../../src/core/sparse/layer-lowering.js';
import { denseLayerSpec, packBits } from '../../src/testing/index.js';
import { levelNamed } from './level-named.js';

/**
 * The hand-computed example of docs/model.md, "Dynamic B operands": one DeltaNet head with
 * d_k = d_v = 4, int8, dense formats, a 4×4 OS array, a 1 KiB state memory.
 */
const HW: HardwareModel = {
  ...SCALESIM_DEFAULT,
  array: { rows: 4, cols: 4 },
  stateMemory: { bytes: 1024, bandwidthBytesPerCycle: 8 },
};
const SKIP_HW: HardwareModel = { ...HW, support: { activations: 'skip', weights: 'skip', deltas: 'skip' } };

/** Retrieve v̂ = Sᵀk: [1×4]·[4×4] against the state S (the `rhs`). */
const RETRIEVE: SparseLayerSpec = {
  name: 'retrieve',
  op: 'delta-rule',
  inputShape: [1, 4],
  operandShape: [1, 4, 4],
  gemm: { m: 1, n: 4, k: 4 },
  gemmCount: 1,
};
/** Rank-1 update S ← S + k·uᵀ: [4×1]·[1×4], no reduction. */
const UPDATE: SparseLayerSpec = {
  name: 'update',
  op: 'delta-rule',
  inputShape: [1, 4],
  operandShape: [1, 1, 4],
  gemm: { m: 4, n: 4, k: 1 },
  gemmCount: 1,
};
const ONES4 = packBits([1, 1, 1, 1]);
const ONES16 = packBits(new Array<number>(16).fill(1));

describe('dynamic B operands (hand-computed, docs/model.md "Dynamic B operands")', () => {
  it('the state S is read from the state memory at every step, never from DRAM, never resident', () => {
    const replay = createLayerReplay(RETRIEVE, HW, { bOperand: 'rhs', delta: false });
    for (let t = 0; t < 2; t++) {
      const step = replay.step({ aMask: ONES4, bMask: ONES16, keyFrame: t === 0 });
      // S: 16 int8 elements = 128 bits from the state memory; k (4 × 8 bits) from DRAM, v̂ (4 × 8) to DRAM.
      expect(levelNamed(step.levels, 'state')).toMatchObject({ readBits: 128, writeBits: 0 });
      expect(levelNamed(step.levels, 'dram')).toMatchObject({ readBits: 32, writeBits: 32 });
    }
    const report = replay.report();
    expect(levelNamed(report.levels!, 'state').readBytes).toBe(2 * 16);
    expect(report.residentSavedDramBytes).toBe(0);
  });

  it('the rank-1 update is element-wise MACs, each reading and writing one element of S', () => {
    const replay = createLayerReplay(UPDATE, SKIP_HW, { bOperand: 'rhs', delta: false });
    // k = [1, 0, 1, 1], u = [1, 1, 0, 1]: 3 · 3 = 9 of the 16 MACs run.
    const step = replay.step({
      aMask: packBits([1, 0, 1, 1]),
      bMask: packBits([1, 1, 0, 1]),
      keyFrame: true,
    });
    expect(step.executedMacs).toBe(9);
    // 9 MACs over 16 PEs: one cycle (a systolic fold would take 1 + 4 + 4 − 2 = 7).
    expect(step.computeCycles).toBe(1);
    // S read and written for the 9 touched elements (8 bits each); k and u read once from DRAM;
    // no dense output (ΔS is accumulated into S), no partial sums in the ofmap buffer.
    expect(levelNamed(step.levels, 'state')).toMatchObject({ readBits: 72, writeBits: 72 });
    expect(levelNamed(step.levels, 'dram')).toMatchObject({ readBits: 32 + 32, writeBits: 0 });
    expect(levelNamed(step.levels, 'ofmap')).toMatchObject({ readBits: 0, writeBits: 0 });
  });

  it('without skipping the update runs all 16 MACs, still in one cycle on 16 PEs', () => {
    const replay = createLayerReplay(UPDATE, HW, { bOperand: 'rhs', delta: false });
    const step = replay.step({ aMask: ONES4, bMask: ONES4, keyFrame: true });
    expect(step.computeCycles).toBe(1);
    expect(levelNamed(step.levels, 'state')).toMatchObject({ readBits: 128, writeBits: 128 });
  });

  it('a state larger than the state memory is read and updated in DRAM', () => {
    const hw = { ...HW, stateMemory: { bytes: 8, bandwidthBytesPerCycle: 8 } };
    const replay = createLayerReplay(UPDATE, hw, { bOperand: 'rhs', delta: false });
    const step = replay.step({ aMask: ONES4, bMask: ONES4, keyFrame: true });
    expect(levelNamed(step.levels, 'state')).toMatchObject({ readBits: 0, writeBits: 0 });
    expect(levelNamed(step.levels, 'dram')).toMatchObject({ readBits: 64 + 128, writeBits: 128 });
  });

  it('attention operands (rhs that is not a state) stay DRAM tensors, re-read at every step', () => {
    const scores: SparseLayerSpec = { ...RETRIEVE, name: 'scores', op: 'attention-scores' };
    const replay = createLayerReplay(scores, HW, { bOperand: 'rhs', delta: false });
    for (let t = 0; t < 2; t++) {
      const step = replay.step({ aMask: ONES4, bMask: ONES16, keyFrame: t === 0 });
      expect(levelNamed(step.levels, 'dram')).toMatchObject({ readBits: 32 + 128, writeBits: 32 });
      expect(step.levels.some((l) => l.name === 'state')).toBe(false);
    }
  });
});

describe('a non-delta consumer of a delta layer reads the reconstructed q (docs/model.md)', () => {
  // wk: a 4 → 4 projection replayed in delta mode; retrieve consumes its output k densely.
  const WK = denseLayerSpec(1, 4, 4, 'wk');
  const DELTA_HW: HardwareModel = { ...HW, deltaMode: true };

  it('finds the producer: the nearest earlier static-weight layer with the operand’s size', () => {
    const plans = reconstructedOperands([
      { spec: WK, plan: { bOperand: 'weight', delta: true } },
      { spec: RETRIEVE, plan: { bOperand: 'rhs', delta: false } },
      { spec: UPDATE, plan: { bOperand: 'rhs', delta: false } },
    ]);
    expect(plans).toEqual([
      { a: false, b: false },
      { a: true, b: false },
      // u = β(v − v̂) has a projection's size too: forming it needs the dense v of that projection.
      { a: true, b: true },
    ]);
    const notDelta = reconstructedOperands([
      { spec: WK, plan: { bOperand: 'weight', delta: false } },
      { spec: RETRIEVE, plan: { bOperand: 'rhs', delta: false } },
    ]);
    expect(notDelta[1]).toEqual({ a: false, b: false });
  });

  it('charges the q read (4 × 32-bit y from the state memory) instead of a DRAM read nobody wrote', () => {
    const run = replayRun(
      [
        {
          spec: WK,
          options: { bOperand: 'weight', delta: true },
          steps: [{ aMask: ONES4, bMask: ONES16, keyFrame: true }],
        },
        {
          spec: RETRIEVE,
          options: { bOperand: 'rhs', delta: false },
          steps: [{ aMask: ONES4, bMask: ONES16, keyFrame: true }],
        },
      ],
      { hardware: DELTA_HW, sources: ['test'], toolVersion: '0', steps: 1 },
    );
    const { report } = collectRun(run);
    const retrieve = report.layers[1]!;
    // wk writes no dense k to DRAM (delta mode); retrieve reads S (128 bits) and q (4 · 32 bits)
    // from the state memory, and from DRAM nothing: only v̂ (4 × 8 bits) is written there.
    expect(levelNamed(report.layers[0]!.levels!, 'dram').writeBytes).toBe(0);
    expect(levelNamed(retrieve.levels!, 'state').readBytes).toBe((128 + 4 * 32) / 8);
    expect(levelNamed(retrieve.levels!, 'dram')).toMatchObject({ readBytes: 0, writeBytes: 4 });
    // Its dense baseline has no delta layers: k comes from DRAM there.
    expect(retrieve.baselineDramBytes).toBe(4 + 4);
  });
});
