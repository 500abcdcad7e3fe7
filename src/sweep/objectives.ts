/**
 * What a sweep can optimise. Each objective is a metric column of the results table and a
 * direction (its axis and table unit: `axisFor` in plot.ts).
 */
export interface ObjectiveDefinition {
  /** Column in the results table and key in `metrics`. */
  readonly metric: MetricName;
  readonly goal: 'min' | 'max';
}

export const METRIC_NAMES = [
  'cycles',
  'baselineCycles',
  'stallCycles',
  'macs',
  'executedMacs',
  'speedup',
  'computeCycles',
  'baselineComputeCycles',
  'computeSpeedup',
  'latencySeconds',
  'energyPj',
  'baselineEnergyPj',
  'edpPjSeconds',
  'pjPerMac',
  'dramBytes',
  'areaMm2',
  'utilization',
] as const;
export type MetricName = (typeof METRIC_NAMES)[number];
export type Metrics = Readonly<Record<MetricName, number>>;

export const OBJECTIVES = {
  latency: { metric: 'latencySeconds', goal: 'min' },
  energy: { metric: 'energyPj', goal: 'min' },
  edp: { metric: 'edpPjSeconds', goal: 'min' },
  area: { metric: 'areaMm2', goal: 'min' },
  'pj-per-mac': { metric: 'pjPerMac', goal: 'min' },
  speedup: { metric: 'speedup', goal: 'max' },
} as const satisfies Record<string, ObjectiveDefinition>;

export type ObjectiveName = keyof typeof OBJECTIVES;
export const OBJECTIVE_NAMES = Object.keys(OBJECTIVES) as ObjectiveName[];

/**
 * Figures of several workloads run on one design: counts, cycles, time and energy add up; the ratios
 * are recomputed from the sums; area is the design's.
 */
export function combineMetrics(list: readonly Metrics[]): Metrics {
  const sum = (key: MetricName): number => list.reduce((s, m) => s + m[key], 0);
  const cycles = sum('cycles');
  const latencySeconds = sum('latencySeconds');
  const energyPj = sum('energyPj');
  const macs = sum('macs');
  const executedMacs = sum('executedMacs');
  // Utilisation weights each workload by its cycles, as one longer run would.
  const busy = list.reduce((s, m) => s + m.utilization * m.cycles, 0);
  return {
    cycles,
    baselineCycles: sum('baselineCycles'),
    stallCycles: sum('stallCycles'),
    macs,
    executedMacs,
    speedup: sum('baselineCycles') / Math.max(1, cycles),
    computeCycles: sum('computeCycles'),
    baselineComputeCycles: sum('baselineComputeCycles'),
    computeSpeedup: sum('baselineComputeCycles') / Math.max(1, sum('computeCycles')),
    latencySeconds,
    energyPj,
    baselineEnergyPj: sum('baselineEnergyPj'),
    edpPjSeconds: energyPj * latencySeconds,
    pjPerMac: macs > 0 ? energyPj / macs : 0,
    dramBytes: sum('dramBytes'),
    areaMm2: list[0]?.areaMm2 ?? 0,
    utilization: cycles > 0 ? busy / cycles : 0,
  };
}
