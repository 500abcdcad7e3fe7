import type { ArrayShape } from './array.js';
import type { LevelName, LevelReport } from './levels.js';
import {
  ENERGY_COMPONENTS,
  type EnergyComponent,
  type EnergyPj,
  type LayerReport,
  type ReportTotal,
  type SkippedMacs,
  type TimingFigures,
} from './report.js';

/** PE-cycles occupied over PE-cycles available; the one definition layers and totals share (report.ts). */
export function utilizationOf(executedMacs: number, cycles: number, array: ArrayShape): number {
  return cycles > 0 ? executedMacs / (cycles * array.rows * array.cols) : 0;
}

/** A ratio of cycle counts; a run that took no cycles at all counts as one cycle (JSON has no Infinity). */
export function cycleRatio(baseline: number, cycles: number): number {
  return baseline / Math.max(1, cycles);
}

/** The summed figures of TimingFigures, from which the ratios follow. */
export type TimingSums = Omit<TimingFigures, 'speedup' | 'computeSpeedup'>;

export function timingFigures(s: TimingSums): TimingFigures {
  return {
    cycles: s.cycles,
    computeCycles: s.computeCycles,
    stallCycles: s.stallCycles,
    baselineCycles: s.baselineCycles,
    baselineComputeCycles: s.baselineComputeCycles,
    speedup: cycleRatio(s.baselineCycles, s.cycles),
    computeSpeedup: cycleRatio(s.baselineComputeCycles, s.computeCycles),
    baselineEnergyPj: s.baselineEnergyPj,
    dramBytes: s.dramBytes,
    baselineDramBytes: s.baselineDramBytes,
    residentSavedDramBytes: s.residentSavedDramBytes,
  };
}

const SUMMED = [
  'cycles',
  'computeCycles',
  'stallCycles',
  'baselineCycles',
  'baselineComputeCycles',
  'baselineEnergyPj',
  'dramBytes',
  'baselineDramBytes',
  'residentSavedDramBytes',
] as const satisfies readonly (keyof TimingSums)[];

/** Per-level figures summed by level name, in the order the levels first appear. */
export function sumLevels(lists: readonly (readonly LevelReport[] | undefined)[]): LevelReport[] | undefined {
  const byName = new Map<LevelName, LevelReport>();
  let any = false;
  for (const list of lists) {
    if (!list) continue;
    any = true;
    for (const l of list) {
      const prev = byName.get(l.name);
      byName.set(
        l.name,
        prev
          ? {
              name: l.name,
              capacityBytes: prev.capacityBytes === l.capacityBytes ? l.capacityBytes : null,
              readBytes: prev.readBytes + l.readBytes,
              writeBytes: prev.writeBytes + l.writeBytes,
              cycles: prev.cycles + l.cycles,
              boundSteps: prev.boundSteps + l.boundSteps,
            }
          : { ...l },
      );
    }
  }
  return any ? [...byName.values()] : undefined;
}

/**
 * A layer whose one GEMM ran `count` times back to back (a `DP` layer's identical channels): every
 * count, cycle and energy figure times `count`; the ratios (utilisation, mapping efficiency) and the
 * layer's name stay. Equal to summing `count` copies, in O(1).
 */
export function repeatLayerReport(layer: LayerReport, count: number): LayerReport {
  const skipped = layer.skippedMacs;
  const energy = Object.fromEntries(Object.entries(layer.energyPj).map(([k, v]) => [k, v * count]));
  return {
    ...layer,
    gemms: layer.gemms * count,
    macs: layer.macs * count,
    executedMacs: layer.executedMacs * count,
    gatedMacs: layer.gatedMacs * count,
    skippedMacs: {
      zeroActivation: skipped.zeroActivation * count,
      zeroWeight: skipped.zeroWeight * count,
      zeroDelta: skipped.zeroDelta * count,
      structural: skipped.structural * count,
    },
    folds: layer.folds * count,
    denseCycles: layer.denseCycles * count,
    ...timingFigures(
      Object.fromEntries(SUMMED.map((key) => [key, layer[key] * count])) as unknown as TimingSums,
    ),
    energyPj: energy as unknown as EnergyPj, // the same keys as the layer's, each scaled
    ...(layer.levels
      ? {
          levels: layer.levels.map((l) => ({
            ...l,
            readBytes: l.readBytes * count,
            writeBytes: l.writeBytes * count,
            cycles: l.cycles * count,
            boundSteps: l.boundSteps * count,
          })),
        }
      : {}),
    ...(layer.laneWorkHistogram ? { laneWorkHistogram: layer.laneWorkHistogram.map((n) => n * count) } : {}),
  };
}

/**
 * Sums per-layer reports into the run's total. Utilisation and the speedups are recomputed from the
 * sums, not averaged. Energy sums every component any layer charged, so a component no layer
 * charged stays absent (report.ts: absent = not modelled); `total` is always present.
 */
export function reportTotal(layers: readonly LayerReport[], array: ArrayShape): ReportTotal {
  const skipped: Record<keyof SkippedMacs, number> = {
    zeroActivation: 0,
    zeroWeight: 0,
    zeroDelta: 0,
    structural: 0,
  };
  let energyTotal = 0;
  const charged = new Map<EnergyComponent, number>();
  let macs = 0;
  let executedMacs = 0;
  let gatedMacs = 0;
  let folds = 0;
  let denseCycles = 0;
  const sums: Record<(typeof SUMMED)[number], number> = {
    cycles: 0,
    computeCycles: 0,
    stallCycles: 0,
    baselineCycles: 0,
    baselineComputeCycles: 0,
    baselineEnergyPj: 0,
    dramBytes: 0,
    baselineDramBytes: 0,
    residentSavedDramBytes: 0,
  };
  for (const l of layers) {
    macs += l.macs;
    executedMacs += l.executedMacs;
    gatedMacs += l.gatedMacs;
    folds += l.folds;
    denseCycles += l.denseCycles;
    for (const key of SUMMED) sums[key] += l[key];
    for (const key of Object.keys(skipped) as (keyof SkippedMacs)[]) skipped[key] += l.skippedMacs[key];
    energyTotal += l.energyPj.total;
    for (const key of ENERGY_COMPONENTS) {
      const value = l.energyPj[key];
      if (value !== undefined) charged.set(key, (charged.get(key) ?? 0) + value);
    }
  }
  // Keys in a fixed order (total, then ENERGY_COMPONENTS), so the JSON does not depend on layer order.
  const energyPj: Record<string, number> = { total: energyTotal };
  for (const key of ENERGY_COMPONENTS) {
    const value = charged.get(key);
    if (value !== undefined) energyPj[key] = value;
  }
  const levels = sumLevels(layers.map((l) => l.levels));
  return {
    macs,
    executedMacs,
    gatedMacs,
    skippedMacs: skipped,
    folds,
    denseCycles,
    ...timingFigures(sums),
    utilization: utilizationOf(executedMacs, sums.cycles, array),
    energyPj: energyPj as unknown as EnergyPj, // built from `total` and ENERGY_COMPONENTS keys only
    ...(levels ? { levels } : {}),
  };
}
