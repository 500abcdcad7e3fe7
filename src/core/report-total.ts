import type { ArrayShape } from './array.js';
import {
  ENERGY_COMPONENTS,
  type EnergyComponent,
  type EnergyPj,
  type LayerReport,
  type ReportTotal,
  type SkippedMacs,
} from './report.js';

/** PE-cycles occupied over PE-cycles available; the one definition layers and totals share (report.ts). */
export function utilizationOf(executedMacs: number, cycles: number, array: ArrayShape): number {
  return cycles > 0 ? executedMacs / (cycles * array.rows * array.cols) : 0;
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
    cycles: layer.cycles * count,
    denseCycles: layer.denseCycles * count,
    stallCycles: layer.stallCycles * count,
    energyPj: energy as unknown as EnergyPj, // the same keys as the layer's, each scaled
    ...(layer.laneWorkHistogram ? { laneWorkHistogram: layer.laneWorkHistogram.map((n) => n * count) } : {}),
  };
}

/**
 * Sums per-layer reports into the run's total. Utilisation is recomputed from the sums, not
 * averaged. Energy sums every component any layer charged, so a component no layer charged stays
 * absent (report.ts: absent = not modelled); `total` is always present.
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
  let cycles = 0;
  let denseCycles = 0;
  let stallCycles = 0;
  for (const l of layers) {
    macs += l.macs;
    executedMacs += l.executedMacs;
    gatedMacs += l.gatedMacs;
    folds += l.folds;
    cycles += l.cycles;
    denseCycles += l.denseCycles;
    stallCycles += l.stallCycles;
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
  return {
    macs,
    executedMacs,
    gatedMacs,
    skippedMacs: skipped,
    folds,
    cycles,
    denseCycles,
    stallCycles,
    utilization: utilizationOf(executedMacs, cycles, array),
    energyPj: energyPj as unknown as EnergyPj, // built from `total` and ENERGY_COMPONENTS keys only
  };
}
