import { describe, expect, it } from 'vitest';
import { type HardwareModel, hardwareProblems } from '../../../src/core/hardware.js';
import { EYERISS_LIKE, SCALESIM_DEFAULT } from '../../../src/core/presets.js';
import { createLayerReplay } from '../../../src/core/replay-engine.js';
import { denseLayerSpec, packBits } from '../../../src/testing/index.js';

// [M×K]·[K×N] = [32×64]·[64×24] on an 8×8 WS array: K over 8 row folds, 4 with 2:4 weights.
const M = 32;
const K = 64;
const N = 24;
const spec = denseLayerSpec(M, K, N);
const STC: HardwareModel = {
  ...SCALESIM_DEFAULT,
  name: 'stc-test',
  array: { rows: 8, cols: 8 },
  dataflow: 'ws',
  precision: 'fp16',
  support: { activations: 'none', weights: 'nm', deltas: 'none', nm: { n: 2, m: 4 } },
};

/** A [K, N] weight mask keeping `perGroup` of every 4 consecutive k (rotating which ones). */
function structuredMask(perGroup: number): Uint8Array {
  const bits = new Uint8Array(K * N);
  for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) if ((k + n) % 4 < perGroup) bits[k * N + n] = 1;
  return packBits(bits);
}

describe('N:M structured weights', () => {
  it('2:4 weights take exactly half the compute cycles and run half the MACs of dense', () => {
    const replay = createLayerReplay(spec, STC, { bOperand: 'weight', delta: false });
    const step = replay.step({ keyFrame: true, bMask: structuredMask(2) });
    const report = replay.report();
    expect(step.computeCycles * 2).toBe(step.denseCycles);
    expect(report.executedMacs * 2).toBe(report.macs);
    expect(report.skippedMacs.zeroWeight).toBe(report.macs / 2);
    // Sparser groups (1 of 4 kept) run the same 2 slots: the structure, not the zeros, sets the time.
    const sparser = createLayerReplay(spec, STC, { bOperand: 'weight', delta: false });
    expect(sparser.step({ keyFrame: true, bMask: structuredMask(1) }).computeCycles).toBe(step.computeCycles);
  });

  it('stores 2 values and 2 × 2 bits of position per group of 4: DRAM bytes by format arithmetic', () => {
    const replay = createLayerReplay(spec, STC, { bOperand: 'weight', delta: false });
    const dram = replay.step({ keyFrame: true, bMask: structuredMask(2) }).levels[0]!;
    const groups = (K / 4) * N;
    const weightBits = groups * 2 * 16 + groups * 2 * 2;
    const inputBits = M * K * 16;
    expect(dram.metadataBits).toBe(groups * 2 * 2);
    expect(dram.readBits).toBe(weightBits + inputBits);
  });

  it('a weight with more than N non-zeros in a group runs dense (the structured path cannot hold it)', () => {
    const replay = createLayerReplay(spec, STC, { bOperand: 'weight', delta: false });
    const step = replay.step({ keyFrame: true, bMask: structuredMask(3) });
    expect(step.computeCycles).toBe(step.denseCycles);
    expect(step.executedMacs).toBe(M * K * N);
    expect(step.levels[0]!.metadataBits).toBe(0);
  });

  it('validates the pattern and refuses combining it with activation skipping', () => {
    const bad = (support: HardwareModel['support']) => hardwareProblems({ ...STC, support }).map((p) => p[0]);
    expect(bad({ activations: 'none', weights: 'nm', deltas: 'none' })).toContain('support.nm.m');
    expect(bad({ activations: 'none', weights: 'nm', deltas: 'none', nm: { n: 4, m: 4 } })).toContain(
      'support.nm.n',
    );
    expect(bad({ activations: 'skip', weights: 'nm', deltas: 'none', nm: { n: 2, m: 4 } })).toContain(
      'support.weights',
    );
    expect(hardwareProblems(STC)).toEqual([]);
  });
});

describe('known output masks and per-layer input formats', () => {
  const hw: HardwareModel = { ...EYERISS_LIKE, sram: { ...EYERISS_LIKE.sram, ifmapBytes: 1 << 20 } };
  const small = denseLayerSpec(4, 16, 8);
  // Outputs: 32 elements, the first 4 non-zero then 28 zeros: rle (5-bit runs) needs 4 entries.
  const outBits = new Uint8Array(32);
  outBits.fill(1, 0, 4);

  it('an output mask writes outputs under the activations format (rle), not as dense words', () => {
    const dense = createLayerReplay(small, hw, { bOperand: 'weight', delta: false });
    const rle = createLayerReplay(small, hw, { bOperand: 'weight', delta: false });
    const denseWrite = dense.step({ keyFrame: true }).levels[0]!.writeBits;
    const rleWrite = rle.step({ keyFrame: true, outputMask: packBits(outBits) }).levels[0]!.writeBits;
    expect(denseWrite).toBe(32 * 16);
    expect(rleWrite).toBe(4 * (16 + 5));
  });

  it('inputFormat stores the A operand as given (dense), while outputs keep rle', () => {
    const replay = createLayerReplay(small, hw, { bOperand: 'weight', delta: false, inputFormat: 'dense' });
    const dram = replay.step({ keyFrame: true, outputMask: packBits(outBits) }).levels[0]!;
    // A dense 4×16 input (64 × 16 bits) + a dense weight (128 × 16 bits); outputs 4 rle entries.
    expect(dram.readBits).toBe(64 * 16 + 128 * 16);
    expect(dram.writeBits).toBe(4 * 21);
  });
});
