import { fc, test } from '@fast-check/vitest';
import { expect } from 'vitest';
import { denseLayerReport } from '../../../src/core/dense-engine.js';
import { HOROWITZ_45NM } from '../../../src/core/energy-table.js';
import { lowerTopology } from '../../../src/core/lowering.js';
import { SPARTEN_LIKE } from '../../../src/core/presets.js';
import { createLayerReplay } from '../../../src/core/replay-engine.js';
import { modelDenseLayer, topologyLayerSpec } from '../../../src/core/sparse/dense-workload.js';
import type { TopologyLayer } from '../../../src/core/topology-layer.js';

const layerArb = fc
  .record({
    h: fc.integer({ min: 1, max: 12 }),
    w: fc.integer({ min: 1, max: 12 }),
    fh: fc.integer({ min: 1, max: 4 }),
    fw: fc.integer({ min: 1, max: 4 }),
    c: fc.integer({ min: 1, max: 6 }),
    n: fc.integer({ min: 1, max: 40 }),
    s: fc.integer({ min: 1, max: 3 }),
  })
  .filter((l) => l.fh <= l.h && l.fw <= l.w)
  .map(
    (l): TopologyLayer => ({
      name: 'L',
      ifmapHeight: l.h,
      ifmapWidth: l.w,
      filterHeight: l.fh,
      filterWidth: l.fw,
      channels: l.c,
      numFilters: l.n,
      strideHeight: l.s,
      strideWidth: l.s,
    }),
  );

test.prop(
  [
    layerArb,
    fc.constantFrom('os', 'ws', 'is' as const),
    fc.integer({ min: 1, max: 9 }),
    fc.integer({ min: 1, max: 9 }),
  ],
  {
    numRuns: 100,
  },
)(
  'a dense topology layer through the replay model keeps the dense engine cycles and adds memory and energy',
  (layer, dataflow, rows, cols) => {
    const [lowered] = lowerTopology([layer], 'conv');
    const array = { rows, cols };
    const hw = {
      ...SPARTEN_LIKE,
      array,
      dataflow,
      support: { activations: 'none', weights: 'none', deltas: 'none' },
    } as const;
    const dense = denseLayerReport(lowered!, {
      array,
      dataflow,
      precision: 'int8',
      energyTable: HOROWITZ_45NM,
      hardwareName: 'x',
      toolVersion: '0',
      sources: [],
    });
    const modelled = modelDenseLayer(lowered!, hw);
    expect(modelled.cycles - modelled.stallCycles).toBe(dense.cycles);
    expect(modelled.denseCycles).toBe(dense.cycles);
    expect(modelled.executedMacs).toBe(dense.macs);
    expect(modelled.energyPj.mac).toBeCloseTo(dense.energyPj.mac!, 6);
    expect(modelled.energyPj.sram).toBeGreaterThan(0);
  },
);

test.prop(
  [
    layerArb,
    fc.constantFrom('os', 'ws', 'is' as const),
    fc.integer({ min: 1, max: 9 }),
    fc.integer({ min: 1, max: 9 }),
    fc.constantFrom('none', 'gate', 'skip' as const),
    fc.constantFrom(1, 16, Number.POSITIVE_INFINITY),
  ],
  { numRuns: 100 },
)(
  'modelDenseLayer (no masks, closed form) equals the bit-level replay of all-ones masks',
  (layer, dataflow, rows, cols, support, dramBandwidth) => {
    const [lowered] = lowerTopology([layer], 'conv');
    const hw = {
      ...SPARTEN_LIKE,
      array: { rows, cols },
      dataflow,
      support: { activations: support, weights: support, deltas: support },
      dram: { bandwidthBytesPerCycle: dramBandwidth },
    };
    const slow = createLayerReplay(topologyLayerSpec(lowered!), hw, {
      bOperand: 'weight',
      delta: false,
      bitLevel: true,
    });
    slow.step({ keyFrame: true });
    expect(modelDenseLayer(lowered!, hw)).toEqual({ ...slow.report(), op: lowered!.op });
  },
);
