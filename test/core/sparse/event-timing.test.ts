import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import type { HardwareModel } from '../../../src/core/hardware.js';
import { NEURONFLOW_LIKE, SCALESIM_DEFAULT } from '../../../src/core/presets.js';
import { createLayerReplay } from '../../../src/core/replay-engine.js';
import type { SparseLayerSpec } from '../../../src/core/sparse/layer-lowering.js';
import { arbitraryLayer, arbitraryPattern, denseLayerSpec, packBits } from '../../../src/testing/index.js';

/** Event-driven, compute-bound (unbounded memory), no delta mode. */
function eventHw(rows: number, cols: number, dispatch: number): HardwareModel {
  return {
    ...SCALESIM_DEFAULT,
    array: { rows, cols },
    arrayKind: 'event-driven',
    eventDispatchCycles: dispatch,
    support: { activations: 'skip', weights: 'none', deltas: 'skip' },
  };
}

// One token, K = 8 inputs, N = 8 outputs on 2×2 = 4 PEs: each PE owns 2 outputs.
const FC = denseLayerSpec(1, 8, 8);

describe('event-driven array (docs/model.md "Event-driven arrays")', () => {
  it('3 events × fan-out 8 over 4 PEs: 6 MACs per PE; dense 16; speedup 64 / 24', () => {
    const replay = createLayerReplay(FC, eventHw(2, 2, 1), { bOperand: 'weight', delta: false });
    replay.step({ aMask: packBits([1, 0, 1, 0, 0, 1, 0, 0]), keyFrame: true });
    const r = replay.report();
    expect(r.executedMacs).toBe(24);
    expect(r.computeCycles).toBe(6);
    expect(r.baselineComputeCycles).toBe(16);
    expect(r.computeSpeedup).toBeCloseTo(64 / 24, 12);
    expect(r.folds).toBe(0);
  });

  it('buffers are read once per event and once per executed MAC’s weight, not per fold', () => {
    const replay = createLayerReplay(FC, eventHw(2, 2, 1), { bOperand: 'weight', delta: false });
    const step = replay.step({ aMask: packBits([1, 0, 1, 0, 0, 1, 0, 0]), keyFrame: true });
    // int8: 3 events × 8 bits from the ifmap buffer, 24 weights × 8 bits from the filter buffer.
    expect(step.levels.find((l) => l.name === 'ifmap')!.readBits).toBe(3 * 8);
    expect(step.levels.find((l) => l.name === 'filter')!.readBits).toBe(24 * 8);
  });

  it('a dispatcher slower than the PEs bounds the step: 3 events × 4 cycles = 12', () => {
    const replay = createLayerReplay(FC, eventHw(2, 2, 4), { bOperand: 'weight', delta: false });
    replay.step({ aMask: packBits([1, 0, 1, 0, 0, 1, 0, 0]), keyFrame: true });
    expect(replay.report().computeCycles).toBe(12);
  });

  test.prop([arbitraryPattern(64), fc.integer({ min: 1, max: 4 })], { numRuns: 60 })(
    'compute-bound and balanced: speedup → MACs / executed MACs as dispatch cost → 0',
    (bits, perPe) => {
      // N = 4 PEs × perPe outputs per PE: every PE owns the same number of outputs.
      const n = 4 * perPe;
      const spec: SparseLayerSpec = {
        ...FC,
        inputShape: [1, 64],
        operandShape: [64, n],
        gemm: { m: 1, n, k: 64 },
      };
      const aMask = packBits(bits);
      const speedup = (dispatch: number): number => {
        const replay = createLayerReplay(spec, eventHw(2, 2, dispatch), { bOperand: 'weight', delta: false });
        replay.step({ aMask, keyFrame: true });
        return replay.report().speedup;
      };
      const executed = bits.reduce((s, b) => s + b, 0) * n;
      if (executed === 0) return;
      expect(speedup(0)).toBeCloseTo((64 * n) / executed, 9);
      expect(speedup(0)).toBeGreaterThanOrEqual(speedup(0.5) - 1e-12);
      expect(speedup(0.5)).toBeGreaterThanOrEqual(speedup(8) - 1e-12);
    },
  );

  test.prop(
    [arbitraryLayer(), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer()],
    {
      numRuns: 60,
    },
  )(
    'the PEs run exactly the executed MACs, and never faster than a perfect spread',
    (layer, rows, cols, seed) => {
      const hw: HardwareModel = {
        ...eventHw(rows, cols, 0),
        support: { activations: 'skip', weights: 'skip', deltas: 'skip' },
      };
      let x = seed >>> 0;
      const bit = (): number => {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        return (x >>> 16) & 1;
      };
      const aMask = packBits(Array.from({ length: layer.aElements }, bit));
      const bMask = packBits(Array.from({ length: layer.bElements }, bit));
      const replay = createLayerReplay(layer.spec, hw, { bOperand: layer.bOperand, delta: false });
      replay.step({ aMask, bMask, keyFrame: true });
      const r = replay.report();
      expect(r.computeCycles).toBeGreaterThanOrEqual(Math.ceil(r.executedMacs / (rows * cols)));
      if (r.executedMacs === 0) expect(r.computeCycles).toBe(0);
      else expect(r.computeCycles).toBeLessThanOrEqual(r.executedMacs);
    },
  );

  it('neuronflow-like is event-driven', () => {
    expect(NEURONFLOW_LIKE.arrayKind).toBe('event-driven');
  });
});
