import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { parseArraySpec } from '../../src/cli/array-spec.js';
import { simulateRunConfig } from '../../src/cli/commands/simulate.js';
import { scaleSimLayers } from '../../src/cli/reporters/scalesim-report.js';
import { parseTopologyCsv } from '../../src/config/topology.js';
import { isDataflow } from '../../src/core/array.js';
import { collectRun, simulateDense } from '../../src/core/dense-engine.js';
import { HOROWITZ_45NM } from '../../src/core/energy-table.js';
import { lowerTopology } from '../../src/core/lowering.js';
import { SCALESIM_DEFAULT } from '../../src/core/presets.js';

interface GoldenLayer {
  readonly name: string;
  readonly folds: number;
  readonly scalesimTotalCycles: number;
  readonly overallUtilPercent2dp?: string;
}
interface GoldenCase {
  readonly name: string;
  readonly origin: 'reference' | 'derived';
  readonly gemm: boolean;
  readonly csv?: readonly string[];
  readonly file?: string;
  readonly array: string;
  readonly dataflow: string;
  readonly layers: readonly GoldenLayer[];
  readonly layerCount?: number;
  readonly totalMacs?: number;
  readonly scalesimTotalCyclesSum?: number;
}

const root = new URL('../../', import.meta.url);
const golden = JSON.parse(readFileSync(new URL('test/golden/scalesim-parity.json', root), 'utf8')) as {
  cases: GoldenCase[];
};

describe('SCALE-Sim v2 parity (test/golden/scalesim-parity.json)', () => {
  test('the golden file holds every SCALE-Sim v2 reference run listed in docs/sources.md', () => {
    expect(golden.cases.filter((c) => c.origin === 'reference')).toHaveLength(5);
  });

  test.each(golden.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const text = c.file ? readFileSync(new URL(c.file, root), 'utf8') : c.csv!.join('\n');
    const kind = c.gemm ? 'gemm' : 'conv';
    const array = parseArraySpec(c.array);
    if (!isDataflow(c.dataflow)) throw new Error(`bad dataflow in golden file: ${c.dataflow}`);
    const layers = lowerTopology(parseTopologyCsv(text, c.file ?? 'golden.csv', kind), kind);
    const dense = collectRun(
      simulateDense(layers, {
        array,
        dataflow: c.dataflow,
        precision: 'int8',
        energyTable: HOROWITZ_45NM,
        hardwareName: 'golden',
        toolVersion: 'test',
        sources: [c.name],
      }),
    ).report;
    // What `simulate` runs: the same timing through the replay memory / energy model (CALC: no stalls).
    const hardware = { ...SCALESIM_DEFAULT, array, dataflow: c.dataflow };
    const modelled = collectRun(simulateDense(layers, simulateRunConfig(hardware, [c.name], 'test'))).report;
    expect(modelled.total.stallCycles).toBe(0);
    expect(modelled.layers.map((l) => [l.folds, l.cycles])).toEqual(
      dense.layers.map((l) => [l.folds, l.cycles]),
    );
    const report = modelled;
    // SCALE-Sim lists a DP layer's channels one by one; we time them once as one report layer.
    const listed = scaleSimLayers(report.layers);
    for (const expected of c.layers) {
      const got = listed.find((l) => l.name === expected.name);
      expect(got, expected.name).toBeDefined();
      expect(got!.folds).toBe(expected.folds);
      // Our cycles are folds × cycles per fold; SCALE-Sim prints the index of the last one.
      expect(got!.cycles - 1).toBe(expected.scalesimTotalCycles);
      if (expected.overallUtilPercent2dp) {
        const scaleSimUtil = (got!.macs * 100) / ((got!.cycles - 1) * array.rows * array.cols);
        expect(scaleSimUtil.toFixed(2)).toBe(expected.overallUtilPercent2dp);
      }
    }
    if (c.layerCount !== undefined) expect(listed).toHaveLength(c.layerCount);
    if (c.totalMacs !== undefined) expect(report.total.macs).toBe(c.totalMacs);
    if (c.scalesimTotalCyclesSum !== undefined) {
      expect(report.total.cycles - listed.length).toBe(c.scalesimTotalCyclesSum);
    }
    if (c.layers.length > 1 && c.layerCount === undefined) {
      expect(listed.map((l) => l.name)).toEqual(c.layers.map((l) => l.name));
    }
  });
});
