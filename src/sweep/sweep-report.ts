import { basename } from 'node:path';
import { alignedTable } from '../cli/reporters/aligned-table.js';
import { groupThousands } from '../cli/reporters/plain.js';
import type { ShardSpec } from './enumerate.js';
import { OBJECTIVES, type ObjectiveName } from './objectives.js';
import { type ParamValue, SWEEP_PARAMETERS } from './parameters.js';
import { axisFor } from './plot.js';
import { ResultStore } from './result-store.js';
import type { SweepRunSummary } from './run-sweep.js';
import type { SweepSpec } from './spec.js';
import { type CompletedPoint, completedPoints, exportResults, frontOf } from './sweep-outputs.js';

export interface SweepOutputs {
  readonly dbPath: string;
  readonly tables: readonly string[];
  readonly plot?: string;
  readonly completed: number;
  readonly front: readonly CompletedPoint[];
  json(summary: SweepRunSummary, shard: ShardSpec | undefined): Record<string, unknown>;
}

/** After a run: Pareto front of the completed designs, Parquet + CSV tables, and the plot. */
export async function writeSweepOutputs(options: {
  readonly spec: SweepSpec;
  readonly dbPath: string;
  readonly out: string;
  readonly plot?: string;
  readonly colorBy?: string;
  readonly plotX?: ObjectiveName;
  readonly plotY?: ObjectiveName;
  readonly toolVersion: string;
}): Promise<SweepOutputs> {
  const { spec } = options;
  const store = await ResultStore.open(options.dbPath, {
    name: spec.name,
    parameterNames: spec.parameters.map((p) => p.name),
    toolVersion: options.toolVersion,
  });
  let completed: CompletedPoint[];
  let front: CompletedPoint[];
  let tables: string[];
  try {
    completed = completedPoints(await store.rows(), spec.workloads.length);
    front = frontOf(completed, spec.objectives);
    tables = await exportResults(store, options.out, front);
  } finally {
    store.close();
  }
  if (options.plot !== undefined) {
    const { plotFront } = await import('./plot.js');
    const { writeFileAtomic } = await import('../common/atomic-write.js');
    const colorBy = options.colorBy ?? spec.colorBy ?? spec.parameters[0]!.name;
    const x = options.plotX ?? spec.plotAxes[0];
    const y = options.plotY ?? spec.plotAxes[1];
    // The highlighted front is the one of the two plotted objectives (not the spec's n-objective front).
    const plotFront2 = new Set(frontOf(completed, [x, y]).map((p) => p.index));
    const svg = await plotFront(
      completed.map((p) => ({
        index: p.index,
        x: p.metrics[OBJECTIVES[x].metric],
        y: p.metrics[OBJECTIVES[y].metric],
        onFront: plotFront2.has(p.index),
        color: p.params[colorBy],
        label: `#${p.index} ${Object.entries(p.params)
          .map(([k, v]) => `${k}=${formatParamValue(k, v)}`)
          .join(' ')}`,
      })),
      {
        // The workload's file name: its label is the path as the spec wrote it (`../../traces/…`).
        title: `${spec.name}: ${x} vs ${y} (${spec.workloads.map((w) => basename(w.label)).join(' + ')})`,
        colorBy,
        formatColor: (value) => formatParamValue(colorBy, value),
        x,
        y,
      },
    );
    await writeFileAtomic(options.plot, svg, { overwrite: true });
  }
  return {
    dbPath: options.dbPath,
    tables,
    ...(options.plot !== undefined ? { plot: options.plot } : {}),
    completed: completed.length,
    front,
    json: (summary, shard) => ({
      name: spec.name,
      points: summary.enumeration.points.length,
      enumerated: summary.enumeration.enumerated,
      rejectedByConstraints: summary.enumeration.rejectedByConstraints,
      jobs: summary.jobsTotal,
      jobsInShard: summary.jobsInShard,
      ...(shard ? { shard } : {}),
      computed: summary.computed,
      reused: summary.reused,
      database: options.dbPath,
      tables,
      ...(options.plot !== undefined ? { plot: options.plot } : {}),
      objectives: spec.objectives,
      front: front.map((p) => ({ index: p.index, params: p.params, metrics: p.metrics })),
    }),
  };
}

function formatMetric(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 1e4) return groupThousands(Math.round(value));
  return Number(value.toPrecision(4)).toString();
}

const SCALED: Readonly<Record<string, readonly (readonly [string, number])[]>> = {
  clock: [
    ['GHz', 1e9],
    ['MHz', 1e6],
    ['kHz', 1e3],
  ],
  size: [
    ['MiB', 2 ** 20],
    ['KiB', 2 ** 10],
    ['B', 1],
  ],
};

/** A parameter value as a spec would write it: clocks in MHz/GHz, sizes in KiB/MiB, bandwidths in B/cycle. */
export function formatParamValue(name: string, value: ParamValue): string {
  const kind = SWEEP_PARAMETERS[name]?.kind;
  if (typeof value !== 'number' || kind?.type !== 'quantity') return String(value);
  if (kind.range === 'bandwidth') return `${formatMetric(value)} B/cycle`;
  const units = SCALED[kind.range] ?? [];
  const [unit, scale] = units.find(([, s]) => value >= s) ?? units[units.length - 1] ?? ['', 1];
  return `${formatMetric(value / scale)} ${unit}`;
}

export function formatSweepSummary(
  spec: SweepSpec,
  summary: SweepRunSummary,
  outputs: SweepOutputs,
  shard: ShardSpec | undefined,
): string {
  const e = summary.enumeration;
  const lines = [
    `sweep ${spec.name}: ${e.points.length} designs (${e.enumerated} ${spec.sampling.method === 'grid' ? 'grid points' : 'samples'}, ${e.rejectedByConstraints} rejected by constraints) × ${spec.workloads.length} workload${spec.workloads.length > 1 ? 's' : ''}`,
    `jobs:     ${summary.jobsInShard}${shard ? ` in shard ${shard.index}/${shard.count} (of ${summary.jobsTotal})` : ''}: ${summary.computed} computed, ${summary.reused} already in the database`,
    `database: ${outputs.dbPath}`,
    `tables:   ${outputs.tables.join(', ')}`,
    ...(outputs.plot ? [`plot:     ${outputs.plot}`] : []),
    `Pareto front of ${spec.objectives.join(', ')}: ${outputs.front.length} of ${outputs.completed} designs`,
  ];
  const params = spec.parameters.map((p) => p.name);
  // Each objective in the unit the plot's axis would use for these designs (µs, µJ, …).
  const axes = spec.objectives.map((o) =>
    axisFor(
      o,
      outputs.front.map((p) => p.metrics[OBJECTIVES[o].metric]),
    ),
  );
  const columns = [
    { title: '#' },
    ...params.map((title) => ({ title, left: true })),
    ...axes.map((axis) => ({ title: axis.label })),
  ];
  const rows = outputs.front.map((p) => [
    String(p.index),
    ...params.map((name) => formatParamValue(name, p.params[name]!)),
    ...spec.objectives.map((o, k) => formatMetric(p.metrics[OBJECTIVES[o].metric] / axes[k]!.scale)),
  ]);
  return `${[...lines, '', ...alignedTable(columns, rows)].join('\n')}\n`;
}
