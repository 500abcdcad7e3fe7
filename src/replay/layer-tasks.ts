import type { RunEvent } from '../core/events.js';
import type { TraceReader } from '../trace/reader.js';
import type { ReplayPlan, RunVerifyFailure } from './replay-driver.js';
import {
  prepareReplayRun,
  type ReplayRun,
  type ReplayTraceOptions,
  replayRunLayer,
  type VerifyFailure,
} from './replay-trace.js';

/** One layer of one run (runs numbered trace-major); `order` is its place in plan order. */
export interface LayerTask {
  readonly run: number;
  readonly layer: number;
  readonly order: number;
  /** Its estimated work (MACs × steps): which queue's next task is the largest. */
  readonly cost: number;
}

/**
 * The tasks as one queue per thread, each largest first. A thread takes from its own queue, and
 * from the others' once its own is empty, the largest task left there: so the threads finish
 * together whatever their speed.
 */
export type TaskQueues = readonly (readonly LayerTask[])[];

/**
 * What the threads of `--workers N` share to take tasks without asking the main thread: the plan
 * order from which tasks are no longer worth starting because an earlier one failed, and each
 * queue's next task.
 */
export type TaskClaims = Int32Array;
const CUTOFF = 0;
const NEXT = 1;

export function createTaskClaims(queues: number): TaskClaims {
  const claims = new Int32Array(new SharedArrayBuffer((NEXT + queues) * Int32Array.BYTES_PER_ELEMENT));
  claims[CUTOFF] = 0x7fffffff;
  return claims;
}

/**
 * The next task nobody has taken (skipping those past the cutoff) for the thread whose queue is
 * `home`: from that queue, else from the queue whose next task is the largest; undefined when none
 * is left.
 */
export function claimTask(claims: TaskClaims, queues: TaskQueues, home: number): LayerTask | undefined {
  for (;;) {
    let from = home;
    if (Atomics.load(claims, NEXT + home) >= queues[home]!.length) {
      let largest = -1;
      for (const [q, queue] of queues.entries()) {
        const next = queue[Atomics.load(claims, NEXT + q)];
        if (next && next.cost > largest) {
          largest = next.cost;
          from = q;
        }
      }
      if (largest < 0) return undefined;
    }
    const task = queues[from]![Atomics.add(claims, NEXT + from, 1)];
    if (task && task.order < Atomics.load(claims, CUTOFF)) return task;
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
 * Every layer of every run as a task, in `queues` queues (one per thread; runs dealt round-robin),
 * each largest first (MACs × steps; ties in plan order): taken in this order, the last tasks to
 * start are the short ones, so the threads finish together. `replay --workers N` passes one run per
 * trace: a task there is a layer of a trace on every configuration (worker-driver.ts).
 */
export function layerTasks(
  runs: readonly { readonly index: number; readonly run: ReplayRun }[],
  queues: number,
): LayerTask[][] {
  const costed = runs.flatMap(({ index, run }) =>
    run.layers.map((l, layer) => ({
      run: index,
      layer,
      cost: l.gemm.m * l.gemm.n * l.gemm.k * l.gemmCount * run.config.steps,
    })),
  );
  const out = Array.from({ length: queues }, (): LayerTask[] => []);
  const sorted = costed
    .map((t, order) => ({ ...t, order }))
    .sort((a, b) => b.cost - a.cost || a.order - b.order);
  for (const task of sorted) {
    out[task.run % queues]!.push(task);
  }
  return out;
}

/**
 * Replays one task of `plan`, posting its events; resolves to its `--verify` failures. `checkedMask`:
 * how it reads a checked mask (default `checkTensorData`; see ReplayTraceOptions).
 */
export type RunLayerTask = (
  task: LayerTask,
  onEvent: (event: RunEvent, runIndex: number) => void,
  signal?: AbortSignal,
  checkedMask?: ReplayTraceOptions['checkedMask'],
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
  return async (task, onEvent, signal, checkedMask) => {
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
        ...(checkedMask ? { checkedMask } : {}),
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
