import { describe, expect, it } from 'vitest';
import { PRESETS, SPARTEN_LIKE } from '../../src/core/presets.js';
import { createLayerReplay } from '../../src/core/replay-engine.js';
import { denseLayerSpec, packBits } from '../../src/testing/index.js';

const LAYER = denseLayerSpec(1, 64, 16);

/** Bits the weight fill from DRAM writes into the filter buffer (payload + metadata). */
function weightFillBits(weightBits: readonly number[]): number {
  const replay = createLayerReplay(LAYER, SPARTEN_LIKE, { bOperand: 'weight', delta: false });
  const step = replay.step({
    aMask: packBits(new Array(64).fill(1)),
    bMask: packBits(weightBits),
    keyFrame: true,
  });
  const filter = step.levels.find((l) => l.name === 'filter')!;
  return filter.writeBits;
}

describe('preset formats follow the data', () => {
  it('sparten-like stores a weight with no zeros dense: 8 bits per weight, no bitmask', () => {
    expect(weightFillBits(new Array(1024).fill(1))).toBe(1024 * 8);
  });

  it('sparten-like stores a half-pruned weight as a bitmask: 8 bits per non-zero + 1 per weight', () => {
    const half = Array.from({ length: 1024 }, (_, i) => i % 2);
    expect(weightFillBits(half)).toBe(512 * 8 + 1024);
  });

  it('no preset stores weights as a plain bitmask whatever their density', () => {
    for (const hw of Object.values(PRESETS)) expect(hw.formats.weights).not.toBe('bitmask');
  });
});
