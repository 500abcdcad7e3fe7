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
 * A run's total, kept while its layers go by: memory does not grow with the layer count, so a long
 * topology can be streamed (`simulate` never holds its layers). Utilisation and the speedups are
 * recomputed from the sums, not averaged. Energy sums every component any layer charged, so a
 * component no layer charged stays absent (report.ts: absent = not modelled); `total` is always
 * present.
 */
export class RunningTotal {
  private readonly skipped: Record<keyof SkippedMacs, number> = {
    zeroActivation: 0,
    zeroWeight: 0,
    zeroDelta: 0,
    structural: 0,
  };
  private energyTotal = 0;
  private readonly charged = new Map<EnergyComponent, number>();
  private macs = 0;
  private executedMacs = 0;
  private gatedMacs = 0;
  private folds = 0;
  private denseCycles = 0;
  private readonly sums: Record<(typeof SUMMED)[number], number> = {
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
  private levels: LevelReport[] | undefined;
  private vectorOps: number | undefined;

  add(l: LayerReport): void {
    if (l.vectorOps !== undefined) this.vectorOps = (this.vectorOps ?? 0) + l.vectorOps;
    this.macs += l.macs;
    this.executedMacs += l.executedMacs;
    this.gatedMacs += l.gatedMacs;
    this.folds += l.folds;
    this.denseCycles += l.denseCycles;
    for (const key of SUMMED) this.sums[key] += l[key];
    for (const key of Object.keys(this.skipped) as (keyof SkippedMacs)[])
      this.skipped[key] += l.skippedMacs[key];
    this.energyTotal += l.energyPj.total;
    for (const key of ENERGY_COMPONENTS) {
      const value = l.energyPj[key];
      if (value !== undefined) this.charged.set(key, (this.charged.get(key) ?? 0) + value);
    }
    if (l.levels) this.levels = sumLevels([this.levels, l.levels]);
  }

  total(array: ArrayShape): ReportTotal {
    // Keys in a fixed order (total, then ENERGY_COMPONENTS), so the JSON does not depend on layer order.
    const energyPj: Record<string, number> = { total: this.energyTotal };
    for (const key of ENERGY_COMPONENTS) {
      const value = this.charged.get(key);
      if (value !== undefined) energyPj[key] = value;
    }
    return {
      macs: this.macs,
      executedMacs: this.executedMacs,
      gatedMacs: this.gatedMacs,
      skippedMacs: { ...this.skipped },
      folds: this.folds,
      denseCycles: this.denseCycles,
      ...timingFigures(this.sums),
      utilization: utilizationOf(this.executedMacs, this.sums.cycles, array),
      energyPj: energyPj as unknown as EnergyPj, // built from `total` and ENERGY_COMPONENTS keys only
      ...(this.levels ? { levels: this.levels } : {}),
      ...(this.vectorOps !== undefined ? { vectorOps: this.vectorOps } : {}),
    };
  }
}

/** Sums per-layer reports into the run's total (RunningTotal over all of them). */
export function reportTotal(layers: readonly LayerReport[], array: ArrayShape): ReportTotal {
  const running = new RunningTotal();
  for (const l of layers) running.add(l);
  return running.total(array);
}

/** Report figures that count (MACs, folds, cycles): a double holds them exactly only below 2^53. */
export const COUNTED_FIGURES = [
  'macs',
  'executedMacs',
  'gatedMacs',
  'folds',
  'cycles',
  'denseCycles',
  'stallCycles',
  'computeCycles',
  'baselineCycles',
] as const satisfies readonly (keyof ReportTotal & keyof LayerReport)[];

/**
 * The first counted figure of a layer or total past 2^53 − 1, as `key value exceeds 2^53 - 1`;
 * undefined while every figure is exact. By magnitude, so a fractional cycle count (event dispatch
 * costs may be fractional) is not mistaken for an inexact one.
 */
export function inexactFigure(
  figures: Pick<ReportTotal, (typeof COUNTED_FIGURES)[number]>,
): string | undefined {
  for (const key of COUNTED_FIGURES) {
    const value = figures[key];
    if (!(Math.abs(value) <= Number.MAX_SAFE_INTEGER)) return `${key} ${value} exceeds 2^53 - 1`;
  }
  return undefined;
}

/** A layer with a counted figure past 2^53 − 1, as `[where, rule]` for a one-line error. */
export function inexactLayer(layer: LayerReport): readonly [string, string] | undefined {
  const rule = inexactFigure(layer);
  return rule ? [`layer "${layer.name}"`, `${rule}: it cannot be counted exactly`] : undefined;
}

/** A run total with a counted figure past 2^53 − 1, as `[where, rule]` for a one-line error. */
export function inexactTotal(total: ReportTotal): readonly [string, string] | undefined {
  const rule = inexactFigure(total);
  return rule ? ['', `total ${rule}: totals cannot be exact (split the input into smaller runs)`] : undefined;
}

/**
 * Where a run's report stops being exact — its first layer, else its total, with a figure past
 * 2^53 − 1 — as `[where, rule]`; undefined when the report is exact. `simulate` and `replay` both
 * refuse such a run rather than print rounded counts.
 */
export function inexactReport(
  layers: Iterable<LayerReport>,
  total: ReportTotal,
): readonly [string, string] | undefined {
  for (const layer of layers) {
    const problem = inexactLayer(layer);
    if (problem) return problem;
  }
  return inexactTotal(total);
}
