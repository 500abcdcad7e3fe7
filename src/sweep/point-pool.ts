import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { BroadcastChannel } from 'node:worker_threads';
import { InputError } from '../common/input-error.js';
import type { PointTask, PointWorkload } from './evaluate-point.js';
import type { Metrics } from './objectives.js';
import type { BatchOutcome, PointFailure } from './point-worker.js';
import { type BatchRun, type JobExecutor, pointWorkload } from './run-sweep.js';

/** Runs design points on worker threads. */
export interface PointPool {
  run(task: PointTask): Promise<Metrics>;
  /** Several tasks in one message to one thread, run there in order. */
  runBatch(tasks: readonly PointTask[]): Promise<BatchRun>;
  /**
   * Tells every thread the sweep's workloads, so each opens them (modules, trace headers, lowered
   * topologies) while the caller still prepares the run; no waiting, and a thread still starting
   * does it on its first design instead.
   */
  prepare(workloads: readonly PointWorkload[]): void;
  close(): Promise<void>;
  readonly threads: number;
  /** Tasks worth keeping in flight: each thread holds its next task while it runs one. */
  readonly inFlight: number;
  /** The live worker threads: stopping one (`terminate()`) is what a crashed thread looks like. */
  liveThreads(): readonly { terminate(): Promise<number> }[];
  /** Tasks run again because their thread died under them. */
  readonly rerunTasks: () => number;
}

/** What the pool's threads are started with (piscina passes it as the thread's `workerData`). */
export interface PointWorkerData {
  /** The BroadcastChannel name `prepare` posts on: one per pool, so pools in one process stay apart. */
  readonly prepareChannel: string;
}

export const defaultWorkers = (): number => availableParallelism();

/** Times a task is run again after its thread dies (a task that kills every thread still ends). */
const THREAD_DEATH_RERUNS = 2;

/**
 * Tasks a worker thread holds at once: the one it runs and the next. With one, a thread that
 * finishes waits for the main thread to hear of it and send the next task; under a busy main
 * thread (commits, progress) that wait grew as long as a small design's job.
 */
const TASKS_PER_THREAD = 2;

/**
 * The worker entry: the compiled `point-worker.js` beside this module, or — running from TypeScript
 * sources under vitest, where a worker thread cannot load `.ts` on Node 20 — a small `.mjs` entry
 * that loads the sources through tsx.
 */
function workerUrl(): URL {
  return import.meta.url.endsWith('.ts')
    ? new URL('./point-worker-tsx.mjs', import.meta.url)
    : new URL('./point-worker.js', import.meta.url);
}

/** The task's own failure, rebuilt on this side of the thread (its class name kept in `name`). */
function taskError(failure: PointFailure): Error {
  const error = failure.input
    ? new InputError(failure.input.source, failure.input.location, failure.input.rule)
    : new Error(failure.message);
  error.name = failure.name;
  return error;
}

/**
 * A pool of `threads` workers (piscina); a task is one design on one workload, and a message
 * carries one task or a batch. A task's own error comes back as data, so a rejected run means its
 * thread died (killed, out of memory): the message's tasks run again on a fresh thread, and
 * nothing the sweep asked for is lost.
 */
export async function createPointPool(threads: number): Promise<PointPool> {
  const { Piscina } = await import('piscina');
  const workerData: PointWorkerData = { prepareChannel: `deltasim-sweep-prepare-${randomUUID()}` };
  const prepareChannel = new BroadcastChannel(workerData.prepareChannel);
  prepareChannel.unref();
  const pool = new Piscina({
    filename: workerUrl().href,
    workerData,
    minThreads: threads,
    maxThreads: threads,
    // A worker holds its next task too; the rest of the queue stays in the main thread, where an
    // abort drops it.
    concurrentTasksPerWorker: TASKS_PER_THREAD,
    idleTimeout: 60_000,
  });
  let reruns = 0;
  const runBatch = async (tasks: readonly PointTask[]): Promise<BatchRun> => {
    for (let attempt = 0; ; attempt++) {
      let batch: BatchOutcome;
      try {
        batch = (await pool.run(tasks)) as BatchOutcome;
      } catch (error) {
        if (attempt >= THREAD_DEATH_RERUNS) throw error;
        reruns++;
        continue;
      }
      return {
        results: batch.outcomes.map((o) =>
          'failure' in o ? { error: taskError(o.failure) } : { metrics: o.metrics },
        ),
        workMs: batch.workMs,
      };
    }
  };
  const run = async (task: PointTask): Promise<Metrics> => {
    const result = (await runBatch([task])).results[0]!;
    if ('error' in result) throw result.error;
    return result.metrics;
  };
  return {
    threads,
    inFlight: threads * TASKS_PER_THREAD,
    run,
    runBatch,
    prepare: (workloads) => prepareChannel.postMessage(workloads.map(pointWorkload)),
    close: () => {
      prepareChannel.close();
      return pool.destroy();
    },
    liveThreads: () => pool.threads,
    rerunTasks: () => reruns,
  };
}

/** The sweep runner's executor on a local pool: enough jobs in flight to keep every thread busy. */
export function poolExecutor(pool: PointPool): JobExecutor {
  return {
    parallelism: pool.inFlight,
    run: (_key, task) => pool.run(task),
    runBatch: (tasks) => pool.runBatch(tasks),
    close: () => pool.close(),
  };
}
