import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import type { ArrayShape, Dataflow } from '../../src/core/array.js';
import { mapGemm } from '../../src/core/dataflow-mapping.js';
import {
  collectRun,
  type DenseRunConfig,
  denseLayerReport,
  foldClasses,
  simulateDense,
} from '../../src/core/dense-engine.js';
import { HOROWITZ_45NM } from '../../src/core/energy-table.js';
import { cyclesPerFold } from '../../src/core/fold-timing.js';
import { type LoweredLayer, lowerLayer } from '../../src/core/lowering.js';
import type { TopologyLayer } from '../../src/core/topology-layer.js';

const config = (
  array: ArrayShape,
  dataflow: Dataflow,
  over: Partial<DenseRunConfig> = {},
): DenseRunConfig => ({
  array,
  dataflow,
  precision: 'int8',
  energyTable: HOROWITZ_45NM,
  hardwareName: 'test',
  toolVersion: 'test',
  sources: ['t.csv'],
  ...over,
});

const inc5b: TopologyLayer = {
  name: 'Inc5b_3x3',
  ifmapHeight: 7,
  ifmapWidth: 7,
  filterHeight: 3,
  filterWidth: 3,
  channels: 192,
  numFilters: 384,
  strideHeight: 1,
  strideWidth: 1,
};

// Arbitraries: a valid conv layer (filter within input), an array, a dataflow.
const layerArb = fc
  .record({
    ifmapHeight: fc.integer({ min: 1, max: 64 }),
    ifmapWidth: fc.integer({ min: 1, max: 64 }),
    channels: fc.integer({ min: 1, max: 256 }),
    numFilters: fc.integer({ min: 1, max: 256 }),
    strideHeight: fc.integer({ min: 1, max: 4 }),
    strideWidth: fc.integer({ min: 1, max: 4 }),
    fh: fc.integer({ min: 1, max: 64 }),
    fw: fc.integer({ min: 1, max: 64 }),
  })
  .map(
    ({ fh, fw, ...r }): TopologyLayer => ({
      name: 'l',
      ...r,
      filterHeight: Math.min(fh, r.ifmapHeight),
      filterWidth: Math.min(fw, r.ifmapWidth),
    }),
  );
const arrayArb = fc.record({
  rows: fc.integer({ min: 1, max: 128 }),
  cols: fc.integer({ min: 1, max: 128 }),
});
const dataflowArb = fc.constantFrom<Dataflow>('os', 'ws', 'is');
const cyclesOf = (layer: TopologyLayer, array: ArrayShape, df: Dataflow): number =>
  denseLayerReport(lowerLayer(layer), config(array, df)).cycles;

describe('denseLayerReport', () => {
  test('Inc5b_3x3 OS: 12 folds of 1790 cycles, every MAC executed, nothing skipped', () => {
    const r = denseLayerReport(lowerLayer(inc5b), config({ rows: 32, cols: 32 }, 'os'));
    expect(r.folds).toBe(12);
    expect(r.cycles).toBe(12 * 1790);
    expect(r.denseCycles).toBe(r.cycles);
    expect(r.macs).toBe(25 * 1728 * 384);
    expect(r.executedMacs).toBe(r.macs);
    expect(r.gatedMacs).toBe(0);
    expect(r.stallCycles).toBe(0);
    expect(r.skippedMacs).toEqual({ zeroActivation: 0, zeroWeight: 0, zeroDelta: 0, structural: 0 });
    expect(r.utilization).toBeCloseTo(r.macs / (21480 * 1024), 12);
    expect(r.mappingEfficiency).toBeCloseTo((25 * 384) / (12 * 1024), 12);
  });

  test('MAC energy is macs × the table entry for the precision; no leakage without a clock', () => {
    const r = denseLayerReport(
      lowerLayer(inc5b),
      config({ rows: 32, cols: 32 }, 'os', { precision: 'fp16' }),
    );
    expect(r.energyPj.mac).toBeCloseTo(r.macs * HOROWITZ_45NM.macPj.fp16, 3);
    expect(r.energyPj.total).toBe(r.energyPj.mac);
    expect(r.energyPj.leakage).toBeUndefined();
  });

  test('leakage = leakageMw × elapsed ns when the clock is known', () => {
    const table = { ...HOROWITZ_45NM, leakageMw: 5 };
    const r = denseLayerReport(
      lowerLayer(inc5b),
      config({ rows: 32, cols: 32 }, 'os', { energyTable: table, clockHz: 1e9 }),
    );
    expect(r.energyPj.leakage).toBeCloseTo(5 * 21480, 6); // 1 GHz: one cycle is 1 ns
    expect(r.energyPj.total).toBeCloseTo(r.energyPj.mac! + r.energyPj.leakage!, 6);
  });

  test('the per-fold timing model is the swap point: a model charging 1 cycle per fold gives cycles = folds', () => {
    const r = denseLayerReport(
      lowerLayer(inc5b),
      config({ rows: 32, cols: 32 }, 'ws', { foldTiming: () => 1 }),
    );
    expect(r.cycles).toBe(r.folds);
  });
});

describe('simulateDense', () => {
  test('yields run-start, layer-start/layer-progress/layer-done per layer, run-done carrying the returned report', () => {
    const layers: LoweredLayer[] = [
      lowerLayer(inc5b),
      lowerLayer({ ...inc5b, name: 'second', numFilters: 10 }),
    ];
    const { events, report } = collectRun(simulateDense(layers, config({ rows: 32, cols: 32 }, 'os')));
    expect(events.map((e) => e.type)).toEqual([
      'run-start',
      'layer-start',
      'layer-progress',
      'layer-done',
      'layer-start',
      'layer-progress',
      'layer-done',
      'run-done',
    ]);
    const last = events[events.length - 1]!;
    expect(last.type === 'run-done' && last.report).toBe(report);
    expect(report.total.cycles).toBe(report.layers[0]!.cycles + report.layers[1]!.cycles);
    expect(report.total.macs).toBe(report.layers[0]!.macs + report.layers[1]!.macs);
    expect(report.total.energyPj.total).toBeCloseTo(
      report.layers[0]!.energyPj.total + report.layers[1]!.energyPj.total,
      3,
    );
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });
});

describe('properties', () => {
  test.prop([
    layerArb,
    arrayArb,
    dataflowArb,
    fc.constantFrom('ifmapHeight', 'ifmapWidth', 'channels', 'numFilters'),
    fc.integer({ min: 1, max: 40 }),
  ])('cycles never decrease when H, W, C or N grows', (layer, array, df, field, grow) => {
    const bigger = { ...layer, [field]: (layer[field as keyof TopologyLayer] as number) + grow };
    expect(cyclesOf(bigger, array, df)).toBeGreaterThanOrEqual(cyclesOf(layer, array, df));
  });

  test('growing the filter is NOT monotone (it shrinks the output): 33×1 input, 1×1 → 2×1 filter, 32×32 OS', () => {
    const base: TopologyLayer = {
      ...inc5b,
      ifmapHeight: 33,
      ifmapWidth: 1,
      filterHeight: 1,
      filterWidth: 1,
      channels: 1,
      numFilters: 1,
    };
    expect(cyclesOf(base, { rows: 32, cols: 32 }, 'os')).toBe(2 * 63);
    expect(cyclesOf({ ...base, filterHeight: 2 }, { rows: 32, cols: 32 }, 'os')).toBe(64);
  });

  test.prop([layerArb, arrayArb, dataflowArb])(
    'folds = ceil(Sr/R)·ceil(Sc/C); fold classes cover exactly Sr×Sc',
    (layer, array, df) => {
      const lowered = lowerLayer(layer);
      const mapping = mapGemm(lowered.gemm, array, df);
      const report = denseLayerReport(lowered, config(array, df));
      expect(report.folds).toBe(
        Math.ceil(mapping.spatialRows / array.rows) * Math.ceil(mapping.spatialCols / array.cols),
      );
      const classes = foldClasses(mapping, array);
      expect(classes.reduce((s, c) => s + c.count, 0)).toBe(report.folds);
      expect(classes.reduce((s, c) => s + c.count * c.usedRows * c.usedCols, 0)).toBe(
        mapping.spatialRows * mapping.spatialCols,
      );
      expect(report.cycles).toBe(report.folds * cyclesPerFold(mapping.temporal, array, df));
    },
  );

  test.prop([layerArb, arrayArb, dataflowArb])(
    '0 < utilisation ≤ mapping efficiency ≤ 1',
    (layer, array, df) => {
      const r = denseLayerReport(lowerLayer(layer), config(array, df));
      expect(r.utilization).toBeGreaterThan(0);
      expect(r.utilization).toBeLessThanOrEqual(r.mappingEfficiency + 1e-12);
      expect(r.mappingEfficiency).toBeLessThanOrEqual(1);
    },
  );

  test.prop([
    fc.integer({ min: 1, max: 2000 }),
    fc.integer({ min: 1, max: 2000 }),
    fc.integer({ min: 1, max: 2000 }),
    arrayArb,
  ])(
    'OS on R×C running [M×K]·[K×N] takes the same cycles, folds, utilisation and mapping efficiency as C×R running the transpose [N×K]·[K×M]',
    (m, n, k, array) => {
      const run = (gemm: { m: number; n: number; k: number }, a: ArrayShape) =>
        denseLayerReport({ ...lowerLayer(inc5b), gemm }, config(a, 'os'));
      const a = run({ m, n, k }, array);
      const b = run({ m: n, n: m, k }, { rows: array.cols, cols: array.rows });
      expect(b.cycles).toBe(a.cycles);
      expect(b.folds).toBe(a.folds);
      expect(b.utilization).toBeCloseTo(a.utilization, 12);
      expect(b.mappingEfficiency).toBeCloseTo(a.mappingEfficiency, 12);
    },
  );

  test.prop([layerArb, arrayArb, dataflowArb])(
    'any valid shape gives finite positive integer folds, cycles and MACs',
    (layer, array, df) => {
      const r = denseLayerReport(lowerLayer(layer), config(array, df));
      for (const v of [r.folds, r.cycles, r.macs]) {
        expect(Number.isSafeInteger(v)).toBe(true);
        expect(v).toBeGreaterThan(0);
      }
      expect(Number.isFinite(r.energyPj.total)).toBe(true);
    },
  );
});
