import type { ArrayShape, Dataflow } from './array.js';
import { type Mapping, mapGemm, mappingEfficiency } from './dataflow-mapping.js';
import type { EnergyTable, Precision } from './energy-table.js';
import { type RunEvent, runEvents } from './events.js';
import { cyclesPerFold } from './fold-timing.js';
import { gemmMacs } from './gemm.js';
import { summarizeHardware } from './hardware.js';
import type { LoweredLayer } from './lowering.js';
import type { EnergyPj, HardwareSummary, LayerReport, Report } from './report.js';
import { repeatLayerReport, reportTotal, timingFigures, utilizationOf } from './report-total.js';

/** What one fold puts on the array: how many PE rows/columns it uses and how long it streams. */
export interface FoldShape {
  readonly usedRows: number;
  readonly usedCols: number;
  /** Operand steps streamed through the fold (T of the mapping). */
  readonly streamCycles: number;
}

/** Folds of one shape and how many of them a layer has. */
export interface FoldClass extends FoldShape {
  readonly count: number;
}

/**
 * Cycles one fold occupies the array. Dense timing depends only on the fold's shape and the array;
 * the sparse engine swaps in a model that looks at the fold's masks instead.
 */
export type FoldTimingModel = (fold: FoldShape, array: ArrayShape, dataflow: Dataflow) => number;

export const denseFoldTiming: FoldTimingModel = (fold, array, dataflow) =>
  cyclesPerFold(fold.streamCycles, array, dataflow);

/**
 * The (at most four) distinct fold shapes of a mapping: full folds, the short last row fold, the
 * narrow last column fold and the corner. Their counts sum to `mapping.folds`.
 */
export function foldClasses(mapping: Mapping, array: ArrayShape): readonly FoldClass[] {
  const rowParts = partition(mapping.spatialRows, array.rows);
  const colParts = partition(mapping.spatialCols, array.cols);
  const classes: FoldClass[] = [];
  for (const r of rowParts) {
    for (const c of colParts) {
      classes.push({
        usedRows: r.used,
        usedCols: c.used,
        streamCycles: mapping.temporal,
        count: r.count * c.count,
      });
    }
  }
  return classes;
}

function partition(extent: number, size: number): { used: number; count: number }[] {
  const full = Math.floor(extent / size);
  const rest = extent - full * size;
  const parts: { used: number; count: number }[] = [];
  if (full > 0) parts.push({ used: size, count: full });
  if (rest > 0) parts.push({ used: rest, count: 1 });
  return parts;
}

export interface DenseRunConfig {
  readonly array: ArrayShape;
  readonly dataflow: Dataflow;
  readonly precision: Precision;
  readonly energyTable: EnergyTable;
  /** Needed only to turn cycles into time for leakage; absent means leakage is not charged. */
  readonly clockHz?: number;
  readonly hardwareName: string;
  readonly toolVersion: string;
  /** The topology files the layers came from. */
  readonly sources: readonly string[];
  readonly foldTiming?: FoldTimingModel;
  /**
   * Reports one layer; default `denseLayerReport` (timing + MAC/leakage energy). `simulate` passes
   * the replay model (`modelDenseLayer`) to charge memory traffic, stalls and energy by component.
   */
  readonly layerModel?: (lowered: LoweredLayer) => LayerReport;
}

const NO_SKIPS = { zeroActivation: 0, zeroWeight: 0, zeroDelta: 0, structural: 0 } as const;

/** One layer on a dense array (no sparsity support): SCALE-Sim v2's timing, plus MAC and leakage energy. */
export function denseLayerReport(lowered: LoweredLayer, config: DenseRunConfig): LayerReport {
  const { array, dataflow } = config;
  const timing = config.foldTiming ?? denseFoldTiming;
  const mapping = mapGemm(lowered.gemm, array, dataflow);
  let cycles = 0;
  for (const fold of foldClasses(mapping, array)) cycles += fold.count * timing(fold, array, dataflow);
  const macs = gemmMacs(lowered.gemm);
  const energy = denseEnergy(macs, cycles, config);
  return {
    name: lowered.name,
    op: lowered.op,
    gemms: 1,
    macs,
    executedMacs: macs,
    gatedMacs: 0,
    skippedMacs: NO_SKIPS,
    folds: mapping.folds,
    denseCycles: cycles,
    // No memory model here and no sparsity support: the layer is its own baseline, stall-free.
    ...timingFigures({
      cycles,
      computeCycles: cycles,
      stallCycles: 0,
      baselineCycles: cycles,
      baselineComputeCycles: cycles,
      baselineEnergyPj: energy.total,
      dramBytes: 0,
      baselineDramBytes: 0,
      residentSavedDramBytes: 0,
    }),
    utilization: utilizationOf(macs, cycles, array),
    mappingEfficiency: mappingEfficiency(mapping, array),
    energyPj: energy,
  };
}

function denseEnergy(macs: number, cycles: number, config: DenseRunConfig): EnergyPj {
  const mac = macs * config.energyTable.macPj[config.precision];
  const { leakageMw } = config.energyTable;
  if (config.clockHz !== undefined && config.clockHz > 0 && leakageMw > 0) {
    // mW = pJ/ns, so leakage in pJ is mW × elapsed ns.
    const leakage = leakageMw * (cycles / config.clockHz) * 1e9;
    return { total: mac + leakage, mac, leakage };
  }
  return { total: mac, mac };
}

export function hardwareSummary(config: DenseRunConfig): HardwareSummary {
  return summarizeHardware({ ...config, name: config.hardwareName });
}

/** One lowered layer's report in a run: its model's report, times its count (a DP layer's channels). */
export function denseRunLayer(lowered: LoweredLayer, config: DenseRunConfig): LayerReport {
  const once = config.layerModel ? config.layerModel(lowered) : denseLayerReport(lowered, config);
  return lowered.count === 1 ? once : repeatLayerReport(once, lowered.count);
}

/**
 * Runs a lowered topology on a dense array, yielding the run's events in order and returning the
 * report (also carried by the final `run-done` event). Pure: same input, same events.
 */
export function* simulateDense(
  layers: readonly LoweredLayer[],
  config: DenseRunConfig,
): Generator<RunEvent, Report, void> {
  const hardware = hardwareSummary(config);
  yield {
    type: 'run-start',
    command: 'simulate',
    sources: config.sources,
    hardware,
    layers: layers.map((l) => ({ name: l.name, op: l.op, macs: gemmMacs(l.gemm) * l.count })),
    steps: 1,
  };
  const reports: LayerReport[] = [];
  for (const [index, lowered] of layers.entries()) {
    yield runEvents.layerStart(index, lowered.name);
    const layer = denseRunLayer(lowered, config);
    reports.push(layer);
    // A topology is one step: the same step event a replay sends per trace step.
    yield runEvents.stepDone(index, 1, 1, layer);
    yield runEvents.layerDone(index, layer);
  }
  const report: Report = {
    tool: 'deltasim',
    version: config.toolVersion,
    command: 'simulate',
    sources: config.sources,
    hardware,
    layers: reports,
    total: reportTotal(reports, config.array),
  };
  yield runEvents.runDone(report);
  return report;
}

/** Drains a run generator: every event it yielded, and the report it returned. */
export function collectRun(run: Generator<RunEvent, Report, void>): {
  readonly events: readonly RunEvent[];
  readonly report: Report;
} {
  const events: RunEvent[] = [];
  for (;;) {
    const step = run.next();
    if (step.done) return { events, report: step.value };
    events.push(step.value);
  }
}
