import type { RunEvent } from '../core/events.js';
import type { TraceReader } from '../trace/reader.js';
import type { ReplayPlan, RunVerifyFailure } from './replay-driver.js';
import { prepareReplayRun, type ReplayRun, replayRunLayer, type VerifyFailure } from './replay-trace.js';

/** One layer of one run (runs numbered trace-major); `order` is its place in plan order. */
export interface LayerTask {
  readonly run: number;
  readonly layer: number;
  readonly order: number;
}

/**
 * What the threads of `--workers N` share to take tasks without asking the main thread: the next
 * task's index in the (largest-first) task list, and the plan order from which tasks are no longer
 * worth starting because an earlier one failed.
 */
export type TaskClaims = Int32Array;
const NEXT = 0;
const CUTOFF = 1;

export function createTaskClaims(): TaskClaims {
  const claims = new Int32Array(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT));
  claims[CUTOFF] = 0x7fffffff;
  return claims;
}

/** The next task nobody has taken (skipping those past the cutoff), or undefined when none is left. */
export function claimTask(claims: TaskClaims, tasks: readonly LayerTask[]): LayerTask | undefined {
  for (;;) {
    const task = tasks[Atomics.add(claims, NEXT, 1)];
    if (!task || task.order < Atomics.load(claims, CUTOFF)) return task;
  }
}

/** Tasks at or past plan order `order` are not started from now on (an earlier one failed). */
export function cutTasks(claims: TaskClaims, order: number): void {
  for (let seen = Atomics.load(claims, CUTOFF); order < seen; ) {
    const was = Atomics.compareExchange(claims, CUTOFF, seen, order);
    if (was === seen) return;
    seen = was;
  }
}

/**
 * Every MAC layer of every run as a task, largest first (MACs × steps; ties in plan order): taken
 * in this order by whichever thread is free, the last tasks to start are the short ones, so the
 * threads finish together.
 */
export function layerTasks(
  runs: readonly { readonly index: number; readonly run: ReplayRun }[],
): LayerTask[] {
  const costed = runs.flatMap(({ index, run }) =>
    run.layers.map((l, layer) => ({
      run: index,
      layer,
      cost: l.gemm.m * l.gemm.n * l.gemm.k * l.gemmCount * run.config.steps,
    })),
  );
  return costed
    .map((t, order) => ({ ...t, order }))
    .sort((a, b) => b.cost - a.cost || a.order - b.order)
    .map(({ run, layer, order }) => ({ run, layer, order }));
}

/** Replays one task of `plan`, posting its events; resolves to its `--verify` failures. */
export type RunLayerTask = (
  task: LayerTask,
  onEvent: (event: RunEvent, runIndex: number) => void,
  signal?: AbortSignal,
) => Promise<readonly RunVerifyFailure[]>;

/**
 * Replays the tasks of `plan` on this thread: `readerOf` gives a source's reader (labelled, opened
 * once), and each run is prepared once, on first use (or taken from `prepared`).
 */
export function layerTaskRunner(
  plan: ReplayPlan,
  readerOf: (sourceIndex: number) => Promise<TraceReader>,
  prepared: Map<number, ReplayRun> = new Map(),
): RunLayerTask {
  const count = plan.hardware.length;
  return async (task, onEvent, signal) => {
    const sourceIndex = Math.floor(task.run / count);
    const source = plan.traces[sourceIndex]!;
    const hardware = plan.hardware[task.run % count]!;
    const reader = await readerOf(sourceIndex);
    let run = prepared.get(task.run);
    if (!run) {
      run = prepareReplayRun(reader, hardware, plan.toolVersion);
      prepared.set(task.run, run);
    }
    const failures: VerifyFailure[] = [];
    await replayRunLayer(
      reader,
      run,
      task.layer,
      {
        hardware,
        toolVersion: plan.toolVersion,
        verify: plan.verify,
        histogramBins: plan.histogramBins,
        onEvent: (event) => onEvent(event, task.run),
        ...(signal ? { signal } : {}),
      },
      failures,
    );
    return failures.map((failure) => ({
      runIndex: task.run,
      label: source.label,
      hardware: hardware.name,
      failure,
    }));
  };
}
