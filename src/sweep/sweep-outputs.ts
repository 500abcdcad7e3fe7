import { basename, dirname, extname, join } from 'node:path';
import { combineMetrics, type Metrics, OBJECTIVES, type ObjectiveName } from './objectives.js';
import type { ParamValue } from './parameters.js';
import { paretoFrontIndices } from './pareto.js';
import { exportTable, RESULTS_TABLE, type ResultRow, type ResultStore } from './result-store.js';

/** A design with every workload's result: its figures summed over them. */
export interface CompletedPoint {
  readonly index: number;
  readonly params: Readonly<Record<string, ParamValue>>;
  readonly metrics: Metrics;
}

/** Designs whose every workload has a row, in point order. */
export function completedPoints(rows: readonly ResultRow[], workloads: number): CompletedPoint[] {
  const byPoint = new Map<number, ResultRow[]>();
  for (const row of rows) {
    const list = byPoint.get(row.pointIndex) ?? [];
    list.push(row);
    byPoint.set(row.pointIndex, list);
  }
  return [...byPoint.entries()]
    .filter(([, list]) => new Set(list.map((r) => r.workloadIndex)).size === workloads)
    .sort(([a], [b]) => a - b)
    .map(([index, list]) => ({
      index,
      params: list[0]!.params,
      metrics: combineMetrics(list.map((r) => r.metrics)),
    }));
}

/** The designs on the Pareto front of `objectives` (maximised ones negated). */
export function frontOf(
  points: readonly CompletedPoint[],
  objectives: readonly ObjectiveName[],
): CompletedPoint[] {
  const costs = points.map((p) =>
    objectives.map((o) => {
      const { metric, goal } = OBJECTIVES[o];
      return goal === 'min' ? p.metrics[metric] : -p.metrics[metric];
    }),
  );
  return paretoFrontIndices(costs).map((i) => points[i]!);
}

/** The Parquet and CSV files a sweep writes for `--out FILE`: FILE itself and its sibling of the other format. */
export function tableOutputs(out: string): string[] {
  const ext = extname(out).toLowerCase();
  const stem = join(dirname(out), basename(out, extname(out)));
  return ext === '.csv' ? [out, `${stem}.parquet`] : [out, `${stem}.csv`];
}

/** Writes the results (with an `on_front` column) as Parquet and CSV through DuckDB. */
export async function exportResults(
  store: ResultStore,
  out: string,
  front: readonly CompletedPoint[],
): Promise<string[]> {
  const c = store.connection;
  await c.run('CREATE OR REPLACE TEMP TABLE front_points (point_index INTEGER)');
  const appender = await c.createAppender('front_points');
  for (const p of front) {
    appender.appendInteger(p.index);
    appender.endRow();
  }
  appender.closeSync();
  const select = `SELECT r.*, r.point_index IN (SELECT point_index FROM front_points) AS on_front FROM ${RESULTS_TABLE} r ORDER BY r.point_index, r.workload_index`;
  const files = tableOutputs(out);
  for (const file of files) await exportTable(c, select, file);
  return files;
}
