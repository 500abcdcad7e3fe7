import { describe, expect, it } from 'vitest';
import type { HardwareModel } from '../../src/core/hardware.js';
import { SCALESIM_DEFAULT, TPU_V1_LIKE } from '../../src/core/presets.js';
import { createLayerReplay } from '../../src/core/replay-engine.js';
import {
  DEFAULT_VECTOR_OPS,
  type ElementwiseLayerSpec,
  elementwiseKindOf,
  vectorWork,
} from '../../src/core/vector-unit.js';
import { levelNamed } from './level-named.js';

const UNIT32 = { lanes: 32, ops: DEFAULT_VECTOR_OPS };
const UNIT256 = { lanes: 256, ops: DEFAULT_VECTOR_OPS };

/** An element-wise layer as the iFormer recorder writes it: m outputs of k ops each. */
function layer(
  name: string,
  input: number[],
  output: number[],
  k: number,
  ops?: number,
): ElementwiseLayerSpec {
  const m = output.reduce((a, b) => a * b, 1);
  return {
    name,
    inputShape: input,
    outputShape: output,
    gemm: { m, n: 1, k },
    ...(ops ? { elementwiseOps: ops } : {}),
  };
}

describe('vector unit: hand-computed costs per kind (docs/model.md, "Vector unit")', () => {
  it('reads the kind from the layer name', () => {
    expect(elementwiseKindOf('stage1_block1_maxpool_b')).toBe('max-pool');
    expect(elementwiseKindOf('stage1_block1_avgpool')).toBe('avg-pool');
    expect(elementwiseKindOf('pool')).toBe('avg-pool');
    expect(elementwiseKindOf('stage1_block1_upsample')).toBe('upsample');
    expect(elementwiseKindOf('stage1_block1_softmax')).toBe('softmax');
    expect(elementwiseKindOf('head_norm')).toBe('layer-norm');
    expect(elementwiseKindOf('block0_RMSNorm')).toBe('rms-norm');
    expect(elementwiseKindOf('stem_act')).toBe('activation');
    expect(elementwiseKindOf('pos1')).toBe('add');
    expect(elementwiseKindOf('mystery')).toBe('other');
  });

  it('3×3 max-pool: 8 compares per output', () => {
    // [8, 8, 8] → 512 outputs · 8 = 4096 lane-ops; 4096 / 32 lanes = 128 cycles.
    expect(vectorWork(layer('maxpool', [8, 8, 8], [8, 8, 8], 9), UNIT32)).toMatchObject({
      ops: 4096,
      cycles: 128,
    });
  });

  it('2×2 average pool: 3 adds and one scale per output', () => {
    // 128 outputs · 4 = 512 lane-ops → 16 cycles.
    expect(vectorWork(layer('avgpool', [8, 8, 8], [4, 4, 8], 4), UNIT32)).toMatchObject({
      ops: 512,
      cycles: 16,
    });
  });

  it('nearest upsampling, activation and add: one lane-op per output', () => {
    expect(vectorWork(layer('upsample', [4, 4, 8], [8, 8, 8], 1), UNIT32)).toMatchObject({
      ops: 512,
      cycles: 16,
    });
    expect(vectorWork(layer('act', [10], [10], 1), UNIT32)).toMatchObject({ ops: 10, cycles: 1 });
    expect(vectorWork(layer('pos', [33], [33], 1), UNIT32)).toMatchObject({ ops: 33, cycles: 2 });
  });

  it('LayerNorm: 7 lane-ops per element, one 1/σ per row, a lane tree only when rows share lanes', () => {
    // [8, 8, 24]: 1536 · 7 + 64 rows = 10,816 lane-ops. 32 lanes: 64 rows ≥ 32 lanes, one lane per
    // row, no tree: ceil(10816 / 32) = 338 cycles.
    const norm = layer('norm1', [8, 8, 24], [8, 8, 24], 8);
    expect(vectorWork(norm, UNIT32)).toMatchObject({ kind: 'layer-norm', ops: 10_816, cycles: 338 });
    // 256 lanes: 4 lanes per row, two passes (mean, variance) of ceil(log2 4) = 2: 43 + 4 = 47.
    expect(vectorWork(norm, UNIT256)).toMatchObject({ ops: 10_816, cycles: 47 });
  });

  it('softmax: 5 lane-ops per element, one reciprocal per row, max and sum reductions', () => {
    // [1, 16, 16]: 256 · 5 + 16 = 1296 lane-ops, ceil(1296 / 32) = 41; 16 rows on 32 lanes: 2 lanes
    // per row, 2 passes of 1 step: 43 cycles.
    expect(vectorWork(layer('softmax', [1, 16, 16], [1, 16, 16], 4), UNIT32)).toMatchObject({
      ops: 1296,
      cycles: 43,
    });
  });

  it('RMSNorm: 4 lane-ops per element, one pass', () => {
    // [4, 64]: 256 · 4 + 4 = 1028 → 33; 4 rows on 32 lanes: 8 lanes per row, 1 pass of 3: 36.
    expect(vectorWork(layer('rmsnorm', [4, 64], [4, 64], 1), UNIT32)).toMatchObject({
      ops: 1028,
      cycles: 36,
    });
  });

  it('an unknown kind costs the trace’s own per-output count', () => {
    expect(vectorWork(layer('mystery', [100], [100], 1, 300), UNIT32)).toMatchObject({
      ops: 300,
      cycles: 10,
    });
  });

  it('a hardware file’s costs replace the defaults', () => {
    const cheap = { lanes: 32, ops: { ...DEFAULT_VECTOR_OPS, maxPool: 0.5 } };
    expect(vectorWork(layer('maxpool', [8, 8, 8], [8, 8, 8], 9), cheap)).toMatchObject({
      ops: 2048,
      cycles: 64,
    });
  });
});

describe('element-wise layers replay like MAC layers', () => {
  const spec = {
    ...layer('stage1_block1_maxpool_b', [8, 8, 8], [8, 8, 8], 9),
    op: 'elementwise',
    gemmCount: 0,
  };

  it('reads inputs from the ifmap buffer, writes outputs to the ofmap buffer, one add per lane-op', () => {
    const replay = createLayerReplay(spec, SCALESIM_DEFAULT, { bOperand: 'weight', delta: false });
    const step = replay.step({ keyFrame: true });
    expect(step).toMatchObject({
      macs: 0,
      executedMacs: 0,
      cycles: 128,
      computeCycles: 128,
      bound: 'compute',
    });
    expect(levelNamed(step.levels, 'ifmap')).toMatchObject({ readBits: 4096, writeBits: 0 });
    expect(levelNamed(step.levels, 'ofmap')).toMatchObject({ readBits: 0, writeBits: 4096 });
    expect(levelNamed(step.levels, 'dram')).toMatchObject({ readBits: 0, writeBits: 0 });
    replay.step({ keyFrame: false });
    const report = replay.report();
    // 64 KiB buffers: 36 pJ per 64 bits (log-interpolated 32 KiB → 1 MiB); 4096 · 0.03 pJ int8 adds.
    expect(report.energyPj.sram).toBeCloseTo(2 * (64 + 64) * 36, 6);
    expect(report.energyPj.vector).toBeCloseTo(2 * 4096 * 0.03, 9);
    expect(report.energyPj.mac).toBeUndefined();
    expect(report.energyPj.total).toBeCloseTo(report.energyPj.sram! + report.energyPj.vector!, 6);
    expect(report).toMatchObject({
      op: 'elementwise',
      macs: 0,
      executedMacs: 0,
      folds: 0,
      cycles: 256,
      baselineCycles: 256,
      speedup: 1,
      vectorOps: 8192,
      elementwiseKind: 'max-pool',
    });
  });

  it('a slow SRAM bounds the step and the leakage runs for it', () => {
    const hw: HardwareModel = {
      ...TPU_V1_LIKE,
      sram: { ...TPU_V1_LIKE.sram, bandwidthBytesPerCycle: 1 },
    };
    const replay = createLayerReplay(spec, hw, { bOperand: 'weight', delta: false });
    // 4096 ops / 256 lanes = 16 cycles; 512 B at 1 B/cycle from the ifmap buffer = 512.
    const step = replay.step({ keyFrame: true });
    expect(step).toMatchObject({ computeCycles: 16, cycles: 512, bound: 'ifmap' });
    // 28 W for 512 cycles at 700 MHz.
    expect(replay.report().energyPj.leakage).toBeCloseTo(((28_000 * 512) / 700e6) * 1e9, 3);
  });
});
