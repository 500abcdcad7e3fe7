import { describe, expect, it } from 'vitest';
import { mapGemm } from '../../src/core/dataflow-mapping.js';
import type { HardwareModel } from '../../src/core/hardware.js';
import { SCALESIM_DEFAULT } from '../../src/core/presets.js';
import { lowerSparseLayer } from '../../src/core/sparse/layer-lowering.js';
import { createTrafficStage, createWeightRowFetch } from '../../src/core/traffic-stage.js';
import { denseLayerSpec, packBits } from '../../src/testing/index.js';

// 2 tokens × 4 int8 inputs (A[m, k] = input m·4 + k), a shared 4 × 3 weight: 96 weight bits.
const LAYER = lowerSparseLayer(denseLayerSpec(2, 4, 3), 'weight');
const ROWS_1_3 = packBits([0, 1, 0, 0, 0, 0, 0, 1]);
const ROWS_1_2 = packBits([0, 1, 0, 0, 0, 0, 1, 0]);

describe('weight rows of non-zero inputs (weightFetch: nonzero-inputs)', () => {
  it('a row k is needed when any token has a non-zero input k; kept rows are not fetched again', () => {
    const fetch = createWeightRowFetch(LAYER);
    expect(fetch.step(ROWS_1_3, false)).toEqual({ fetchedShare: 2 / 4, savedShare: 0 });
    // Kept: row 1 is already on chip, row 2 is new.
    expect(fetch.step(ROWS_1_2, true)).toEqual({ fetchedShare: 1 / 4, savedShare: 1 / 4 });
    // Reloaded (not kept): both needed rows come from DRAM again.
    expect(fetch.step(ROWS_1_2, false)).toEqual({ fetchedShare: 2 / 4, savedShare: 0 });
    // No mask: a dense input needs every row.
    expect(fetch.step(undefined, false)).toEqual({ fetchedShare: 1, savedShare: 0 });
  });
});

describe('traffic stage: weight fetch policy', () => {
  const HW: HardwareModel = {
    ...SCALESIM_DEFAULT,
    array: { rows: 4, cols: 4 },
    support: { activations: 'skip', weights: 'none', deltas: 'skip' },
  };
  const mapping = mapGemm(LAYER.gemm, HW.array, HW.dataflow);
  const step = { keyFrame: true, executedMacs: 6, aNonzeros: 2, events: 2, aMask: ROWS_1_3 };
  const dramReads = (hw: HardwareModel, reloadWeight: boolean, aMask = ROWS_1_3) =>
    createTrafficStage(LAYER, hw, mapping, { delta: false }).run({ ...step, aMask, reloadWeight }).dram
      .readBits;

  it('whole (default): the 64 input bits and all 96 weight bits', () => {
    expect(dramReads(HW, true)).toBe(64 + 96);
  });
  it('nonzero-inputs: only rows 1 and 3 of the weight, 2 · 3 · 8 = 48 bits', () => {
    expect(dramReads({ ...HW, weightFetch: 'nonzero-inputs' }, true)).toBe(64 + 48);
  });
  it('nonzero-inputs needs skipping of the input: with gating every weight is used and fetched', () => {
    const gate: HardwareModel = {
      ...HW,
      weightFetch: 'nonzero-inputs',
      support: { ...HW.support, activations: 'gate' },
    };
    expect(dramReads(gate, true)).toBe(64 + 96);
  });
  it('a resident weight fetches only the rows it does not hold yet, and reports the rest as saved', () => {
    const stage = createTrafficStage(LAYER, { ...HW, weightFetch: 'nonzero-inputs' }, mapping, {
      delta: false,
    });
    stage.run({ ...step, reloadWeight: true });
    const t = stage.run({ ...step, aMask: ROWS_1_2, reloadWeight: false });
    expect(t.dram.readBits).toBe(64 + 24);
    expect(t.residentSavedBits).toBe(24);
  });
});
