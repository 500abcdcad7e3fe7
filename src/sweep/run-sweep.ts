import { existsSync } from 'node:fs';
import type { SweepEvent } from '../tui/sweep-events.js';
import {
  type DesignPoint,
  type Enumeration,
  enumeratePoints,
  jobsOf,
  type ShardSpec,
  type SweepJob,
} from './enumerate.js';
import type { PointTask, PointWorkload } from './evaluate-point.js';
import { combineMetrics, type Metrics } from './objectives.js';
import { type ResultRow, ResultStore } from './result-store.js';
import type { SweepSpec } from './spec.js';

/** Several jobs run as one message: per job its figures or its own error, in order. */
export interface BatchRun {
  readonly results: readonly ({ readonly metrics: Metrics } | { readonly error: Error })[];
  /** The executor's own time on the jobs (not the message's way there and back). */
  readonly workMs: number;
}

/** Where jobs run: the local worker pool, or a queue other machines drain. */
export interface JobExecutor {
  run(key: string, task: PointTask): Promise<Metrics>;
  /** Several jobs in one message (a local pool): the runner then sizes batches to the jobs' cost. */
  runBatch?(tasks: readonly PointTask[]): Promise<BatchRun>;
  /** Jobs worth keeping in flight at once. */
  readonly parallelism: number;
  close(): Promise<void>;
}

export interface SweepRunOptions {
  readonly spec: SweepSpec;
  /** The spec's points, when the caller has enumerated them already (enumerated here otherwise). */
  readonly enumeration?: Enumeration;
  readonly dbPath: string;
  readonly toolVersion: string;
  readonly executor: JobExecutor;
  readonly shard?: ShardSpec;
  readonly onEvent?: (event: SweepEvent) => void;
  readonly signal?: AbortSignal;
}

/**
 * When each stage of a run ended, in ms from the call (main-thread wall clock): the bench prints
 * them to show what overlaps what. Stages that overlap end in any order.
 */
export interface SweepPhases {
  /** Points enumerated and every job's key hashed. */
  readonly keyed: number;
  /** The first job handed to the executor (before the database is open on a fresh database). */
  readonly firstDispatch: number;
  /** The database open, its tables there. */
  readonly opened: number;
  /** The whole space recorded (one transaction). */
  readonly recorded: number;
  /** The first result back from the executor (thread start, module loads and one job). */
  readonly firstResult: number;
  /** The last result back from the executor. */
  readonly computed: number;
  /** Every row committed. */
  readonly committed: number;
  /** The database closed (DuckDB's checkpoint). */
  readonly closed: number;
}

export interface SweepRunSummary {
  readonly enumeration: Enumeration;
  /** Jobs (design × workload) of the whole space, and of this shard. */
  readonly jobsTotal: number;
  readonly jobsInShard: number;
  /** Jobs of this shard found in the database from an earlier run. */
  readonly reused: number;
  readonly computed: number;
  readonly phases: SweepPhases;
}

/**
 * A commit starts at most this often: one costs milliseconds of CPU beside the workers, so rows
 * finishing meanwhile share it. A killed run recomputes at most this long of finished work.
 */
export const SWEEP_COMMIT_INTERVAL_MS = 100;

/**
 * Work a batch of jobs aims at, in ms: a message costs the pool about 0.3–0.5 ms of round trip and
 * main-thread CPU, small beside this. Batches also stay small enough for the end of the run to
 * balance (see `batchSize`).
 */
export const SWEEP_BATCH_TARGET_MS = 10;

/**
 * Jobs to hand a lane at once: as many as fill `SWEEP_BATCH_TARGET_MS` at the cost per job seen
 * last (one until a result is back), and at most 1/(2·lanes) of the jobs left, so batches shrink
 * towards the end and the threads run out of work together (the last batch is at most about half
 * a lane's share of what was left).
 */
export function batchSize(left: number, lanes: number, msPerJob: number | undefined): number {
  if (msPerJob === undefined || left <= 1) return Math.min(1, left);
  const byCost = Math.floor(SWEEP_BATCH_TARGET_MS / Math.max(msPerJob, 0.01));
  const byBalance = Math.floor(left / (2 * lanes));
  return Math.max(1, Math.min(byCost, byBalance));
}

/** A workload as a task carries it: only the fields a worker reads cross the thread. */
export function pointWorkload({ kind, path, label, gemm }: PointWorkload): PointWorkload {
  return { kind, path, label, gemm };
}

/**
 * A job's relative cost as far as the design tells before it runs: a workload's MACs are the same
 * on every design, and the replay walks them in folds of one array's size, so fewer PEs mean more
 * folds. Only the order of jobs uses it (never a result); it is rough (output-stationary designs
 * cost about the same whatever the shape), but it puts the small-array designs, the dearest, first.
 */
export function estimatedJobCost(job: SweepJob): number {
  const { rows, cols } = job.point.hardware.array;
  return 1 / (rows * cols);
}

/**
 * The order jobs are handed out: dearest first (stable, so ties keep the enumeration's order and a
 * point's workloads stay together), so the last jobs are cheap and the threads run out of work
 * together instead of one thread finishing a big design alone.
 */
export function dispatchOrder(jobs: readonly SweepJob[]): SweepJob[] {
  return jobs
    .map((job, i) => ({ job, i, cost: estimatedJobCost(job) }))
    .sort((a, b) => b.cost - a.cost || a.i - b.i)
    .map(({ job }) => job);
}

export function taskOf(job: SweepJob, toolVersion: string): PointTask {
  return { hardware: job.point.hardware, workload: pointWorkload(job.workload), toolVersion };
}

/**
 * Runs a sweep into its database: every job of the (shard of the) space whose key is not already
 * there is computed once; its row is committed within `SWEEP_COMMIT_INTERVAL_MS` of finishing,
 * with the rows finishing meanwhile. A point's event goes out when all its workloads' rows are
 * committed. On a fresh database (no file yet) nothing can be done already, so jobs start while
 * the database opens and records the space.
 */
export async function runSweep(options: SweepRunOptions): Promise<SweepRunSummary> {
  const { spec, toolVersion, executor, signal } = options;
  const start = performance.now();
  const at = (): number => performance.now() - start;
  const phases: Record<keyof SweepPhases, number> = {
    keyed: 0,
    firstDispatch: 0,
    opened: 0,
    recorded: 0,
    firstResult: 0,
    computed: 0,
    committed: 0,
    closed: 0,
  };
  // Checked before DuckDB creates the file: no file (and no write-ahead log) means no row exists.
  const fresh = !existsSync(options.dbPath) && !existsSync(`${options.dbPath}.wal`);
  // The database opens (file, tables: DuckDB's threads) while this thread enumerates and hashes.
  const opening = ResultStore.open(options.dbPath, {
    name: spec.name,
    parameterNames: spec.parameters.map((p) => p.name),
    toolVersion,
    commitIntervalMs: SWEEP_COMMIT_INTERVAL_MS,
    // Its work (small commits, the space, the checkpoint) gains nothing from parallel execution,
    // and its extra threads cost CPU on the cores the workers need.
    threads: 1,
  }).then((store) => {
    phases.opened = at();
    return store;
  });
  // Its failure is reported where it is awaited below; until then it must not count as unhandled.
  opening.catch(() => {});
  let enumeration: Enumeration;
  let allJobs: SweepJob[];
  let jobs: SweepJob[];
  try {
    enumeration = options.enumeration ?? (await enumeratePoints(spec));
    allJobs = jobsOf(enumeration.points, spec.workloads, toolVersion);
    jobs = options.shard ? jobsOf(enumeration.points, spec.workloads, toolVersion, options.shard) : allJobs;
  } catch (error) {
    await opening.then(
      (store) => store.close(),
      () => {},
    );
    throw error;
  }
  phases.keyed = at();
  // The store once the space is recorded: rows are written after it.
  const ready = opening.then(async (store) => {
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
    } catch (error) {
      store.close();
      throw error;
    }
    phases.recorded = at();
    return store;
  });
  ready.catch(() => {});
  const runJobs = async (): Promise<Omit<SweepRunSummary, 'phases'>> => {
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
    // No spread into push/splice: a sweep of ~150,000 jobs exceeds V8's argument limit.
    let pending: SweepJob[] = [];
    let reused = 0;
    if (fresh) pending = jobs.slice();
    else {
      const done = new Map((await (await ready).rows()).map((row) => [row.key, row.metrics]));
      for (const job of jobs) {
        const metrics = done.get(job.key);
        if (metrics) {
          reused++;
          byPoint.get(job.point.index)![job.workloadIndex] = metrics;
        } else pending.push(job);
      }
      for (const point of enumeration.points) if (byPoint.has(point.index)) emitIfComplete(point);
    }
    pending = dispatchOrder(pending);
    let computed = 0;
    let next = 0;
    // A lane takes its next jobs as soon as their results are handed to the store: the commit
    // (grouped with the other lanes' rows) runs meanwhile. A point is announced once its rows are
    // committed. With a local pool a lane's message carries a batch of jobs sized to their cost.
    const writes: Promise<void>[] = [];
    let writeError: { error: unknown } | undefined;
    ready.catch((error: unknown) => {
      writeError ??= { error };
    });
    const lanes = Math.max(1, Math.min(executor.parallelism, pending.length));
    // Cost per job as the executor last measured it (batches only).
    let msPerJob: number | undefined;
    /** The jobs a lane's message carries: their figures (or the first job's own error). */
    const runBatch = async (batch: readonly SweepJob[]): Promise<Metrics[]> => {
      if (!executor.runBatch) return [await executor.run(batch[0]!.key, taskOf(batch[0]!, toolVersion))];
      const { results, workMs } = await executor.runBatch(batch.map((job) => taskOf(job, toolVersion)));
      msPerJob = workMs / batch.length;
      // Jobs before a failed one are done and kept; the failure then stops the run as a single job's would.
      const metrics: Metrics[] = [];
      for (const result of results) {
        if ('error' in result) {
          for (const [i, m] of metrics.entries()) write(batch[i]!, m);
          throw result.error;
        }
        metrics.push(result.metrics);
      }
      return metrics;
    };
    const write = (job: SweepJob, metrics: Metrics): void => {
      const row: ResultRow = {
        key: job.key,
        pointIndex: job.point.index,
        workloadIndex: job.workloadIndex,
        workload: job.workload.label,
        params: job.point.params,
        metrics,
      };
      writes.push(
        ready
          .then((store) => store.insert(row))
          .then(() => {
            computed++;
            byPoint.get(job.point.index)![job.workloadIndex] = metrics;
            emitIfComplete(job.point);
          })
          .catch((error: unknown) => {
            writeError ??= { error };
          }),
      );
    };
    // Once no job is left to hand out, the first lane to run dry commits what is finished and lets
    // the store fold its log into the file while the other lanes finish: on the core it leaves
    // idle, not after the last result.
    let settling: Promise<void> | undefined;
    // Once a lane fails, the others take no new work (their running jobs end and are committed).
    let failed = false;
    const worker = async (): Promise<void> => {
      try {
        await drain();
      } catch (error) {
        failed = true;
        throw error;
      }
      if (!failed) settling ??= ready.then((store) => store.settle()).catch(() => {});
    };
    const drain = async (): Promise<void> => {
      while (next < pending.length && !failed) {
        signal?.throwIfAborted();
        if (writeError) throw writeError.error;
        const size = executor.runBatch ? batchSize(pending.length - next, lanes, msPerJob) : 1;
        const batch = pending.slice(next, next + size);
        if (next === 0) phases.firstDispatch = at();
        next += size;
        const metrics = await runBatch(batch);
        if (phases.firstResult === 0) phases.firstResult = at();
        for (const [i, job] of batch.entries()) write(job, metrics[i]!);
      }
    };
    try {
      await Promise.all(Array.from({ length: lanes }, worker));
      phases.computed = at();
    } finally {
      // Whatever stopped the lanes, rows already computed are committed before the store closes.
      (await ready).commitNow();
      await Promise.all(writes);
      await settling;
      phases.committed = at();
    }
    if (writeError) throw writeError.error;
    // Stopped while the last rows committed: still a stop (what is committed stays).
    signal?.throwIfAborted();
    options.onEvent?.({ type: 'sweep-done', points: [...byPoint.keys()].length });
    return { enumeration, jobsTotal: allJobs.length, jobsInShard: jobs.length, reused, computed };
  };
  let counts: Omit<SweepRunSummary, 'phases'>;
  try {
    counts = await runJobs();
  } finally {
    (await ready.catch(() => undefined))?.close();
    phases.closed = at();
  }
  return { ...counts, phases };
}
