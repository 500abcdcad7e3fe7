/**
 * The closed form for dense operands (lane timing of all-ones lanes, MAC counts of masks the array
 * cannot act on, stats of absent masks) against the bit-level path it replaces: results must be
 * identical, not close.
 */
import { fc, test } from '@fast-check/vitest';
import { expect } from 'vitest';
import type { HardwareModel } from '../../../src/core/hardware.js';
import { SCALESIM_DEFAULT } from '../../../src/core/presets.js';
import { createLayerReplay, type ReplayStepInput } from '../../../src/core/replay-engine.js';
import { type BitMatrix, createBitMatrix, setBit } from '../../../src/core/sparse/bits.js';
import { denseLaneTiming, laneTiming } from '../../../src/core/sparse/lane-timing.js';
import { lowerSparseLayer } from '../../../src/core/sparse/layer-lowering.js';
import {
  arbitraryDataflow,
  arbitraryLayer,
  arbitraryPattern,
  arbitrarySupport,
  packBits,
} from '../../../src/testing/index.js';

function allOnes(rows: number, cols: number): BitMatrix {
  const bm = createBitMatrix(rows, cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) setBit(bm, r, c);
  return bm;
}

const granularityArb = fc.constantFrom('element', 'vector', 'fold' as const);
const lookaheadArb = fc.oneof(fc.integer({ min: 1, max: 80 }), fc.constant(Number.POSITIVE_INFINITY));

test.prop([
  fc.integer({ min: 1, max: 40 }),
  fc.integer({ min: 1, max: 40 }),
  fc.integer({ min: 1, max: 140 }),
  fc.integer({ min: 1, max: 9 }),
  fc.integer({ min: 1, max: 9 }),
  arbitraryDataflow,
  granularityArb,
  lookaheadArb,
  fc.constantFrom(0, 1, 10),
  fc.tuple(fc.boolean(), fc.boolean(), fc.boolean()),
])(
  'lane timing: the closed form equals the bit-level path on all-ones lanes',
  (rows, cols, temporal, arrayRows, arrayCols, dataflow, granularity, lookaheadSteps, bins, explicit) => {
    const options = {
      array: { rows: arrayRows, cols: arrayCols },
      dataflow,
      granularity,
      lookaheadSteps,
      histogramBins: bins,
    };
    // At least one explicit all-ones matrix, so the bit-level loops (not the closed form) run.
    const [withRow, withCol, withStat] = explicit.some(Boolean) ? explicit : [true, false, false];
    const bitLevel = laneTiming(
      {
        spatialRows: rows,
        spatialCols: cols,
        temporal,
        rowBits: withRow ? allOnes(rows, temporal) : null,
        colBits: withCol ? allOnes(cols, temporal) : null,
        stat: withStat ? allOnes(rows, cols) : null,
      },
      options,
    );
    const shape = { spatialRows: rows, spatialCols: cols, temporal };
    expect(denseLaneTiming(shape, options)).toEqual(bitLevel);
    expect(laneTiming({ ...shape, rowBits: null, colBits: null, stat: null }, options)).toEqual(bitLevel);
  },
);

const hardwareArb: fc.Arbitrary<HardwareModel> = fc
  .record({
    rows: fc.integer({ min: 1, max: 9 }),
    cols: fc.integer({ min: 1, max: 9 }),
    dataflow: arbitraryDataflow,
    precision: fc.constantFrom('int8', 'fp16', 'fp32' as const),
    // Mostly dense arrays, so the closed form is taken often; every support appears.
    activations: fc.oneof(
      { weight: 3, arbitrary: fc.constant('none' as const) },
      { weight: 2, arbitrary: arbitrarySupport },
    ),
    weights: fc.oneof(
      { weight: 3, arbitrary: fc.constant('none' as const) },
      { weight: 2, arbitrary: arbitrarySupport },
    ),
    deltas: fc.oneof(
      { weight: 3, arbitrary: fc.constant('none' as const) },
      { weight: 2, arbitrary: arbitrarySupport },
    ),
    granularity: granularityArb,
    lookaheadSteps: lookaheadArb,
    aFormat: fc.constantFrom('dense', 'bitmask', 'rle', 'coordinate' as const),
    bFormat: fc.constantFrom('dense', 'bitmask', 'rle', 'coordinate' as const),
    rleRunBits: fc.integer({ min: 1, max: 4 }),
    bufferBytes: fc.constantFrom(16, 64, 1024, Number.POSITIVE_INFINITY),
    sramBandwidth: fc.constantFrom(1, 8, Number.POSITIVE_INFINITY),
    dramBandwidth: fc.constantFrom(1, 4, Number.POSITIVE_INFINITY),
    leakageMw: fc.constantFrom(0, 5),
  })
  .map((h) => ({
    ...SCALESIM_DEFAULT,
    array: { rows: h.rows, cols: h.cols },
    dataflow: h.dataflow,
    precision: h.precision,
    support: { activations: h.activations, weights: h.weights, deltas: h.deltas },
    granularity: h.granularity,
    lookaheadSteps: h.lookaheadSteps,
    formats: { activations: h.aFormat, weights: h.bFormat },
    rleRunBits: h.rleRunBits,
    sram: {
      ifmapBytes: h.bufferBytes,
      filterBytes: h.bufferBytes,
      ofmapBytes: h.bufferBytes,
      bandwidthBytesPerCycle: h.sramBandwidth,
    },
    dram: { bandwidthBytesPerCycle: h.dramBandwidth },
    stateMemory: { bytes: 256, bandwidthBytesPerCycle: 4 },
    leakageMw: h.leakageMw,
  }));

/** A layer with 1–3 steps of masks; each mask absent (dense), all ones, or random. */
const replayCaseArb = arbitraryLayer().chain((layer) => {
  const maskArb = (length: number): fc.Arbitrary<Uint8Array | undefined> =>
    fc.oneof(
      fc.constant(undefined),
      fc.constant(packBits(new Uint8Array(length).fill(1))),
      arbitraryPattern(length).map(packBits),
    );
  return fc.record({
    layer: fc.constant(layer),
    delta: layer.bOperand === 'weight' ? fc.boolean() : fc.constant(false),
    steps: fc.array(
      fc.record({ aMask: maskArb(layer.aElements), bMask: maskArb(layer.bElements), keyFrame: fc.boolean() }),
      { minLength: 1, maxLength: 3 },
    ),
  });
});

test.prop([replayCaseArb, hardwareArb], { numRuns: 300 })(
  'replay engine: the closed form for dense operands gives the bit-level report exactly',
  ({ layer, delta, steps }, hw) => {
    const options = { bOperand: layer.bOperand, delta, histogramBins: 10 };
    const fast = createLayerReplay(layer.spec, hw, options);
    const slow = createLayerReplay(layer.spec, hw, { ...options, bitLevel: true });
    let staticB: Uint8Array | undefined;
    for (const [i, s] of steps.entries()) {
      // A static weight has one mask for every step.
      if (i === 0) staticB = s.bMask;
      const input: ReplayStepInput = {
        keyFrame: s.keyFrame,
        ...(s.aMask ? { aMask: s.aMask } : {}),
        ...(layer.bOperand === 'weight'
          ? staticB
            ? { bMask: staticB }
            : {}
          : s.bMask
            ? { bMask: s.bMask }
            : {}),
      };
      expect(fast.step(input)).toEqual(slow.step(input));
    }
    expect(fast.report()).toEqual(slow.report());
  },
);

test.prop([arbitraryLayer()])(
  'lowering: hasPadding (closed form) is whether some window reads padding',
  (layer) => {
    const low = lowerSparseLayer(layer.spec, layer.bOperand);
    expect(low.hasPadding).toBe(low.aIndex.some((x) => x < 0));
  },
);
