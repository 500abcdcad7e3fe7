import type { SweepEvent } from '../tui/sweep-events.js';
import {
  type DesignPoint,
  type Enumeration,
  enumeratePoints,
  jobsOf,
  type ShardSpec,
  type SweepJob,
} from './enumerate.js';
import type { PointTask } from './evaluate-point.js';
import { combineMetrics, type Metrics } from './objectives.js';
import { type ResultRow, ResultStore } from './result-store.js';
import type { SweepSpec } from './spec.js';

/** Where jobs run: the local worker pool, or a queue other machines drain. */
export interface JobExecutor {
  run(key: string, task: PointTask): Promise<Metrics>;
  /** Jobs worth keeping in flight at once. */
  readonly parallelism: number;
  close(): Promise<void>;
}

export interface SweepRunOptions {
  readonly spec: SweepSpec;
  readonly dbPath: string;
  readonly toolVersion: string;
  readonly executor: JobExecutor;
  readonly shard?: ShardSpec;
  readonly onEvent?: (event: SweepEvent) => void;
  readonly signal?: AbortSignal;
}

export interface SweepRunSummary {
  readonly enumeration: Enumeration;
  /** Jobs (design × workload) of the whole space, and of this shard. */
  readonly jobsTotal: number;
  readonly jobsInShard: number;
  /** Jobs of this shard found in the database from an earlier run. */
  readonly reused: number;
  readonly computed: number;
}

export function taskOf(job: SweepJob, toolVersion: string): PointTask {
  const { kind, path, label, gemm } = job.workload;
  return { hardware: job.point.hardware, workload: { kind, path, label, gemm }, toolVersion };
}

/**
 * Runs a sweep into its database: every job of the (shard of the) space whose key is not already
 * there is computed once and committed as soon as it finishes (grouped with the rows finishing
 * meanwhile). A point's event goes out when all its workloads' rows are committed.
 */
export async function runSweep(options: SweepRunOptions): Promise<SweepRunSummary> {
  const { spec, toolVersion, executor, signal } = options;
  // The database opens (file, tables: DuckDB's threads) while this thread enumerates and hashes.
  const opening = ResultStore.open(options.dbPath, {
    name: spec.name,
    parameterNames: spec.parameters.map((p) => p.name),
    toolVersion,
  });
  // Its failure is reported where it is awaited below; until then it must not count as unhandled.
  opening.catch(() => {});
  let enumeration: Enumeration;
  let allJobs: SweepJob[];
  let jobs: SweepJob[];
  try {
    enumeration = await enumeratePoints(spec);
    allJobs = jobsOf(enumeration.points, spec.workloads, toolVersion);
    jobs = options.shard ? jobsOf(enumeration.points, spec.workloads, toolVersion, options.shard) : allJobs;
  } catch (error) {
    await opening.then(
      (store) => store.close(),
      () => {},
    );
    throw error;
  }
  const store = await opening;
  try {
    await store.recordSpace(
      spec.name,
      allJobs.map((j) => ({
        key: j.key,
        pointIndex: j.point.index,
        workloadIndex: j.workloadIndex,
        workload: j.workload.label,
        params: j.point.params,
      })),
      enumeration.points.length,
      spec.workloads.length,
    );
    const byPoint = new Map<number, (Metrics | undefined)[]>();
    const emitIfComplete = (point: DesignPoint): void => {
      const list = byPoint.get(point.index);
      if (!list || list.some((m) => m === undefined)) return;
      options.onEvent?.({
        type: 'point-done',
        index: point.index,
        params: point.params,
        metrics: combineMetrics(list as Metrics[]),
      });
    };
    for (const job of jobs) byPoint.set(job.point.index, new Array(spec.workloads.length).fill(undefined));
    const done = new Map((await store.rows()).map((row) => [row.key, row.metrics]));
    const pending: SweepJob[] = [];
    let reused = 0;
    for (const job of jobs) {
      const metrics = done.get(job.key);
      if (metrics) {
        reused++;
        byPoint.get(job.point.index)![job.workloadIndex] = metrics;
      } else pending.push(job);
    }
    for (const point of enumeration.points) if (byPoint.has(point.index)) emitIfComplete(point);
    let computed = 0;
    let next = 0;
    // A lane takes its next job as soon as its result is handed to the store: the commit (grouped
    // with the other lanes' rows) runs meanwhile. A point is announced once its rows are committed.
    const writes: Promise<void>[] = [];
    let writeError: { error: unknown } | undefined;
    const worker = async (): Promise<void> => {
      while (next < pending.length) {
        signal?.throwIfAborted();
        if (writeError) throw writeError.error;
        const job = pending[next++]!;
        const metrics = await executor.run(job.key, taskOf(job, toolVersion));
        const row: ResultRow = {
          key: job.key,
          pointIndex: job.point.index,
          workloadIndex: job.workloadIndex,
          workload: job.workload.label,
          params: job.point.params,
          metrics,
        };
        writes.push(
          store
            .insert(row)
            .then(() => {
              computed++;
              byPoint.get(job.point.index)![job.workloadIndex] = metrics;
              emitIfComplete(job.point);
            })
            .catch((error: unknown) => {
              writeError ??= { error };
            }),
        );
      }
    };
    const lanes = Math.max(1, Math.min(executor.parallelism, pending.length));
    try {
      await Promise.all(Array.from({ length: lanes }, worker));
    } finally {
      // Whatever stopped the lanes, rows already computed are committed before the store closes.
      await Promise.all(writes);
    }
    if (writeError) throw writeError.error;
    // Stopped while the last rows committed: still a stop (what is committed stays).
    signal?.throwIfAborted();
    options.onEvent?.({ type: 'sweep-done', points: [...byPoint.keys()].length });
    return { enumeration, jobsTotal: allJobs.length, jobsInShard: jobs.length, reused, computed };
  } finally {
    store.close();
  }
}
