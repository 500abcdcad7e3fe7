import { test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { collectRun, simulateDense } from '../../src/core/dense-engine.js';
import { denseBaselineOf, type HardwareModel, uniformHardware } from '../../src/core/hardware.js';
import { lowerTopology } from '../../src/core/lowering.js';
import { EYERISS_LIKE, PRESETS, SCALESIM_DEFAULT, SPARTEN_LIKE } from '../../src/core/presets.js';
import { createLayerReplay } from '../../src/core/replay-engine.js';
import { modelDenseLayer, topologyLayerSpec } from '../../src/core/sparse/dense-workload.js';
import { arbitraryPattern, packBits } from '../../src/testing/index.js';

// One conv topology row: 8×8×4 input, 3×3 filters, 8 of them, stride 1 → M = 36, K = 36, N = 8.
const TOPOLOGY = [
  {
    name: 'conv',
    ifmapHeight: 8,
    ifmapWidth: 8,
    filterHeight: 3,
    filterWidth: 3,
    channels: 4,
    numFilters: 8,
    strideHeight: 1,
    strideWidth: 1,
  },
];
const lowered = lowerTopology(TOPOLOGY, 'conv')[0]!;
const spec = topologyLayerSpec(lowered);
// Narrow DRAM so the dense layer is memory-bound: stalls are part of both dense figures.
const SLOW: HardwareModel = { ...SPARTEN_LIKE, dram: { bandwidthBytesPerCycle: 2 } };

function simulateCycles(hw: HardwareModel): number {
  const config = {
    array: hw.array,
    dataflow: hw.dataflow,
    precision: hw.precision,
    energyTable: hw.energy,
    hardwareName: hw.name,
    toolVersion: 'test',
    sources: [],
    layerModel: (l: typeof lowered) => modelDenseLayer(l, hw),
  };
  return collectRun(simulateDense([lowered], config)).report.layers[0]!.cycles;
}

describe('same-memory baseline', () => {
  test.prop([arbitraryPattern(8 * 8 * 4), arbitraryPattern(36 * 8)], { numRuns: 10 })(
    'replay’s baselineCycles equal simulate’s cycles for the same layer on the same hardware, sparsity off',
    (aMask, bMask) => {
      const replay = createLayerReplay(spec, SLOW, { bOperand: 'weight', delta: false });
      replay.step({ aMask: packBits(aMask), bMask: packBits(bMask), keyFrame: true });
      const r = replay.report();
      const simulated = simulateCycles(denseBaselineOf(SLOW));
      expect(r.baselineCycles).toBe(simulated);
      // The dense layer stalls on this memory, and both dense figures include it.
      expect(r.baselineCycles).toBeGreaterThan(r.baselineComputeCycles);
      expect(r.speedup).toBe(r.baselineCycles / r.cycles);
      // An all-zero input leaves the array idle: 0 compute cycles count as 1 in the ratio.
      expect(r.computeSpeedup).toBe(r.baselineComputeCycles / Math.max(1, r.computeCycles));
      expect(r.stallCycles).toBe(r.cycles - r.computeCycles);
    },
  );

  it('an all-zero input idles the array: 0 compute cycles, ratios stay finite (JSON has no Infinity)', () => {
    const replay = createLayerReplay(spec, SLOW, { bOperand: 'weight', delta: false });
    replay.step({ aMask: new Uint8Array(32), bMask: packBits(new Array(288).fill(1)), keyFrame: true });
    const r = replay.report();
    expect(r.computeCycles).toBe(0);
    expect(r.computeSpeedup).toBe(r.baselineComputeCycles);
    expect(Number.isFinite(r.speedup)).toBe(true);
  });

  it('a sparse design on data without zeros (dense formats) is exactly as fast as its baseline', () => {
    // Before the baseline ran through the memory model, this printed denseCycles / cycles < 1:
    // a memory-free figure divided by a memory-bound one.
    const hw: HardwareModel = { ...SLOW, formats: { activations: 'dense', weights: 'dense' } };
    const replay = createLayerReplay(spec, hw, { bOperand: 'weight', delta: false });
    for (let t = 0; t < 3; t++) replay.step({ keyFrame: t === 0 });
    const r = replay.report();
    expect(r.stallCycles).toBeGreaterThan(0);
    expect(r.speedup).toBe(1);
    expect(r.computeSpeedup).toBe(1);
    expect(r.baselineEnergyPj).toBeCloseTo(r.energyPj.total, 6);
    expect(r.baselineDramBytes).toBe(r.dramBytes);
  });

  it('a design without sparsity support is its own baseline', () => {
    for (const hw of [SCALESIM_DEFAULT, denseBaselineOf(EYERISS_LIKE)]) {
      const r = modelDenseLayer(lowered, hw);
      expect(r.baselineCycles).toBe(r.cycles);
      expect(r.baselineComputeCycles).toBe(r.computeCycles);
      expect(r.speedup).toBe(1);
      expect(r.baselineEnergyPj).toBe(r.energyPj.total);
    }
  });

  it('denseBaselineOf turns sparsity support off and keeps the memory', () => {
    const base = denseBaselineOf(SPARTEN_LIKE);
    expect(base.support).toEqual({ activations: 'none', weights: 'none', deltas: 'none' });
    expect(base.formats).toEqual({ activations: 'dense', weights: 'dense' });
    expect(base.deltaMode).toBe(false);
    expect(base.sram).toEqual(SPARTEN_LIKE.sram);
    expect(base.dram).toEqual(SPARTEN_LIKE.dram);
  });

  it('uniformHardware keeps every design as it is, its fields in one order for every design and baseline', () => {
    const designs = Object.values(PRESETS).flatMap((hw) => [hw, denseBaselineOf(hw)]);
    const keys = Object.keys(uniformHardware(SCALESIM_DEFAULT));
    for (const hw of designs) {
      const uniform = uniformHardware(hw);
      expect(Object.keys(uniform)).toEqual(keys);
      // Absent optional fields are undefined, present ones the same values: a reader sees no change.
      for (const key of keys)
        expect(uniform[key as keyof HardwareModel]).toBe(hw[key as keyof HardwareModel]);
      for (const key of Object.keys(hw)) expect(keys).toContain(key);
    }
  });
});
