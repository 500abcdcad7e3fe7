import { describe, expect, it } from 'vitest';
import type { HardwareModel } from '../../../src/core/hardware.js';
import { SCALESIM_DEFAULT } from '../../../src/core/presets.js';
import { createLayerReplay } from '../../../src/core/replay-engine.js';
import { denseLayerSpec, packBits } from '../../../src/testing/index.js';
import { levelNamed } from '../level-named.js';

// Dense layer: 2 tokens × 4 inputs, 4 × 3 int8 weights → 6 outputs; one 4×4 OS fold.
const LAYER = denseLayerSpec(2, 4, 3);
const HW: HardwareModel = {
  ...SCALESIM_DEFAULT,
  array: { rows: 4, cols: 4 },
  support: { activations: 'skip', weights: 'none', deltas: 'skip' },
  deltaMode: true,
  stateMemory: { bytes: 1024, bandwidthBytesPerCycle: 8 },
};
const WEIGHTS = packBits([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);

describe('delta bookkeeping (hand-computed, docs/model.md "Temporal (delta) mode")', () => {
  it('key frame then one event: state, psums, Δ and outputs charged where they happen, once', () => {
    const replay = createLayerReplay(LAYER, HW, { bOperand: 'weight', delta: true });
    const key = replay.step({ aMask: packBits([1, 1, 1, 1, 1, 1, 1, 1]), bMask: WEIGHTS, keyFrame: true });
    // Key frame: y written for all 6 outputs (32 bit, one pass under OS), q written for 8 inputs (8 bit).
    expect(levelNamed(key.levels, 'state')).toMatchObject({ readBits: 0, writeBits: 6 * 32 + 8 * 8 });
    // Only Δ at input (m = 0, k = 1): the 3 outputs of token 0 are touched.
    const step = replay.step({ aMask: packBits([0, 1, 0, 0, 0, 0, 0, 0]), bMask: WEIGHTS, keyFrame: false });
    const state = levelNamed(step.levels, 'state');
    // y read + written for the 3 touched outputs; q_{t−1} read for all 8 inputs, written for the 1 that changed.
    expect(state.readBits).toBe(3 * 32 + 8 * 8);
    expect(state.writeBits).toBe(3 * 32 + 1 * 8);
    // The partial sums accumulate in the state memory only: the ofmap buffer is not charged again.
    expect(levelNamed(step.levels, 'ofmap')).toMatchObject({ readBits: 0, writeBits: 0 });
    // Δ is produced on chip and delivered into the ifmap buffer (dense format: 8 × 8 bits); DRAM
    // moves only the weights (12 × 8 bits), and no dense outputs (the consumer receives events).
    expect(levelNamed(step.levels, 'dram')).toMatchObject({ readBits: 12 * 8, writeBits: 0 });
    expect(levelNamed(step.levels, 'ifmap').writeBits).toBe(8 * 8);
    expect(step.executedMacs).toBe(3);
  });

  it('Δ that overflows the ifmap buffer is spilled: written to DRAM and read back', () => {
    const hw: HardwareModel = { ...HW, sram: { ...HW.sram, ifmapBytes: 4 } };
    const replay = createLayerReplay(LAYER, hw, { bOperand: 'weight', delta: true });
    const step = replay.step({ aMask: packBits([1, 1, 1, 1, 1, 1, 1, 1]), bMask: WEIGHTS, keyFrame: true });
    expect(levelNamed(step.levels, 'dram')).toMatchObject({ readBits: 12 * 8 + 8 * 8, writeBits: 8 * 8 });
  });

  it('outside delta mode the same layer reads its input from DRAM and writes dense outputs', () => {
    const replay = createLayerReplay(LAYER, HW, { bOperand: 'weight', delta: false });
    const step = replay.step({ aMask: packBits([0, 1, 0, 0, 0, 0, 0, 0]), bMask: WEIGHTS, keyFrame: true });
    expect(levelNamed(step.levels, 'dram')).toMatchObject({ readBits: 12 * 8 + 8 * 8, writeBits: 6 * 8 });
    expect(step.levels.some((l) => l.name === 'state')).toBe(false);
  });
});
