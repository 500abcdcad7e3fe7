import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { smallest } from '../common/extremes.js';
import { InputError } from '../common/input-error.js';
import { type RunEvent, runEvents } from '../core/events.js';
import type { LayerReport } from '../core/report.js';
import { openTrace } from '../trace/reader.js';
import {
  labelled,
  type ReplayDriverHooks,
  type ReplayPlan,
  type ReplaySource,
  type RunVerifyFailure,
  syntheticLabel,
} from './replay-driver.js';
import { finishReplayRun, prepareReplayRun, type ReplayRun } from './replay-trace.js';

/** A worker's error as posted: an InputError keeps what the CLI prints of it. */
export type PostedError =
  | { readonly name: string; readonly source: string; readonly location: string; readonly rule: string }
  | { readonly message: string };

/** What the worker posts, in order: events and phases, then one `done` or `error`. */
export type WorkerMessage =
  | { readonly type: 'event'; readonly event: RunEvent; readonly runIndex: number }
  | { readonly type: 'phase'; readonly text: string }
  | { readonly type: 'done'; readonly failures: readonly RunVerifyFailure[] }
  /** Task mode: layer `layer` of run `run` is replayed (its events were posted before). */
  | {
      readonly type: 'task-done';
      readonly run: number;
      readonly layer: number;
      readonly failures: readonly RunVerifyFailure[];
    }
  | { readonly type: 'task-error'; readonly run: number; readonly layer: number; readonly error: PostedError }
  | {
      readonly type: 'error';
      readonly error: PostedError;
    };

/**
 * The compiled worker entry beside this module, or undefined when running from TypeScript sources
 * (tests), where a worker could not load it: the caller then runs the plan on its own thread.
 */
export function replayWorkerUrl(): URL | undefined {
  if (!import.meta.url.endsWith('.js')) return undefined;
  const url = new URL('./replay-worker.js', import.meta.url);
  return existsSync(fileURLToPath(url)) ? url : undefined;
}

/**
 * `driveReplays` in a worker thread: same plan, same events, same failures. An abort terminates the
 * worker at once (whatever it is computing) and rejects with the signal's reason.
 */
export function driveReplaysInWorker(
  url: URL,
  plan: ReplayPlan,
  hooks: ReplayDriverHooks,
): Promise<readonly RunVerifyFailure[]> {
  const { signal } = hooks;
  signal?.throwIfAborted();
  return new Promise((resolve, reject) => {
    const worker = new Worker(url, { workerData: plan });
    let settled = false;
    const settle = (finish: () => void): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      finish();
      void worker.terminate();
    };
    const onAbort = (): void => settle(() => reject(signal?.reason));
    signal?.addEventListener('abort', onAbort);
    worker.on('message', (message: WorkerMessage) => {
      if (settled) return;
      try {
        if (message.type === 'event') hooks.onEvent(message.event, message.runIndex);
        else if (message.type === 'phase') hooks.onPhase?.(message.text);
        else if (message.type === 'done') settle(() => resolve(message.failures));
        else if (message.type === 'error') settle(() => reject(rebuildError(message.error)));
      } catch (error) {
        settle(() => reject(error));
      }
    });
    worker.on('error', (error) => settle(() => reject(error)));
    worker.on('exit', (code) =>
      settle(() => reject(new Error(`the replay worker stopped (exit ${code}) before it finished`))),
    );
  });
}

/** What the main thread tells a worker in task mode (`WorkerData.tasks`). */
export type TaskMessage =
  | { readonly type: 'task'; readonly run: number; readonly layer: number }
  | { readonly type: 'stop' };

/** A worker's start: the whole plan, or (tasks mode) the plan whose layers it replays on request. */
export type WorkerData = ReplayPlan | { readonly tasks: true; readonly plan: ReplayPlan };

/** One run of the plan as the main thread sequences it. */
interface SequencedRun {
  readonly index: number;
  readonly source: ReplaySource;
  readonly run: ReplayRun;
  /** Per layer: events held until the layer is the one being shown, then whether it finished. */
  readonly held: RunEvent[][];
  readonly done: boolean[];
  readonly errors: (Error | undefined)[];
  readonly failures: RunVerifyFailure[][];
  readonly reports: LayerReport[];
}

/**
 * `--workers N`: the plan's layer replays — every MAC layer of every run (trace × hardware) — shared
 * by N worker threads, each taking the next one when it is free: the layers of its own runs first
 * (the runs are dealt out by cost), largest first, then the largest left of any run, so each thread
 * mostly opens, prepares and compiles for its own runs while all finish together. The threads start
 * before anything else, so they boot while this thread reads headers. A layer replays on
 * its own (src/replay/replay-trace.ts, `replayRunLayer`): each worker opens the trace itself and
 * reads only that layer's tensors, so the threads share no data and scale with the cores even on
 * one run. Events reach `hooks` exactly as one thread would send them: the earliest unfinished layer
 * streams live, later ones are held until it is done, and each run's run-start and run-done come
 * from the same functions as in one thread; so reports and `--json` output do not depend on N. An
 * error is the one the earliest failing layer raises, after every earlier layer's events, as in one
 * thread. The synthetic trace, if any, is written once first.
 */
export async function driveReplaysInWorkers(
  url: URL,
  plan: ReplayPlan,
  hooks: ReplayDriverHooks,
  workers: number,
): Promise<readonly RunVerifyFailure[]> {
  const traces = [...plan.traces];
  const synthetic = plan.synthetic;
  const base: ReplayPlan = {
    ...plan,
    traces: synthetic ? [...traces, { path: synthetic.path, label: syntheticLabel(synthetic.spec) }] : traces,
    synthetic: undefined,
  };
  // The chunked schedule derives its layers from whole blocks (./chunk-replay.ts): one thread runs it.
  const single = workers <= 1 || base.schedule === 'chunkwise';
  // The pool starts first: its threads boot (a Node environment and the module graph each) while
  // this thread synthesizes and reads the headers, instead of after.
  const pool = single ? undefined : startPool(url, base, workers);
  try {
    if (synthetic) await driveReplaysInWorker(url, { ...plan, traces: [], hardware: [] }, hooks);
  } catch (error) {
    for (const w of pool?.workers ?? []) void w.terminate();
    throw error;
  }
  return pool ? sharePlan(url, base, hooks, pool) : driveReplaysInWorker(url, base, hooks);
}

/** Task-mode threads for a plan, idle until told what to replay. */
interface Pool {
  readonly workers: readonly Worker[];
  /** The first error a thread raised before `sharePlan` listened (a failed start). */
  readonly early: { error?: unknown };
}

function startPool(url: URL, plan: ReplayPlan, workers: number): Pool {
  const early: { error?: unknown } = {};
  const started = Array.from({ length: workers }, () => {
    const worker = new Worker(url, { workerData: { tasks: true, plan } satisfies WorkerData });
    worker.on('error', (error) => {
      early.error ??= error;
    });
    return worker;
  });
  return { workers: started, early };
}

/** The layer replays of `base` shared by the threads of `pool` (see `driveReplaysInWorkers`). */
async function sharePlan(
  url: URL,
  base: ReplayPlan,
  hooks: ReplayDriverHooks,
  { workers: pool, early }: Pool,
): Promise<readonly RunVerifyFailure[]> {
  const stopAll = (): void => {
    for (const w of pool) void w.terminate();
  };
  try {
    hooks.signal?.throwIfAborted();
  } catch (error) {
    stopAll();
    throw error;
  }
  // Headers only: what each run will replay, for its run-start and to share out its layers.
  let runs: SequencedRun[];
  try {
    runs = await readRuns(base);
  } catch (error) {
    stopAll();
    throw error;
  }

  const tasks = runs
    .flatMap((r) =>
      r.run.layers.map((l, layer) => ({
        run: r.index,
        layer,
        order: 0,
        cost: l.gemm.m * l.gemm.n * l.gemm.k * l.gemmCount * r.run.config.steps,
      })),
    )
    .map((t, order) => ({ ...t, order }))
    // Largest first: the last layers to start are short, so the threads finish together.
    .sort((a, b) => b.cost - a.cost || a.order - b.order);
  const orders = new Map(tasks.map((t) => [`${t.run}/${t.layer}`, t.order]));
  if (Math.min(pool.length, tasks.length) <= 1) {
    stopAll();
    return driveReplaysInWorker(url, base, hooks);
  }
  const home = homeRuns(runs, tasks, pool.length);
  const byIndex = new Map(runs.map((r) => [r.index, r]));
  const orderOf = (run: number, layer: number): number => orders.get(`${run}/${layer}`)!;

  return new Promise((resolve, reject) => {
    const { signal } = hooks;
    let settled = false;
    /** The run and layer being shown; layer = −1 before its run-start. */
    let live = 0;
    let liveLayer = -1;
    /** Tasks at or past this order are not started: an earlier one failed. */
    let cutoff = Number.POSITIVE_INFINITY;
    const settle = (finish: () => void): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      finish();
      for (const w of pool) void w.terminate();
    };
    const fail = (error: unknown): void => settle(() => reject(error));
    const onAbort = (): void => fail(signal?.reason);
    signal?.addEventListener('abort', onAbort);
    if (early.error !== undefined) {
      fail(early.error);
      return;
    }

    /** Shows everything that is ready, in plan order; settles at the end or at the first error. */
    const advance = (): void => {
      while (!settled && live < runs.length) {
        const r = runs[live]!;
        if (liveLayer === -1) {
          if (live === 0 || runs[live - 1]!.source !== r.source)
            hooks.onPhase?.(`reading trace ${r.source.label}…`);
          hooks.onEvent(r.run.start, r.index);
          liveLayer = 0;
        }
        while (liveLayer < r.held.length) {
          for (const event of r.held[liveLayer]!.splice(0)) hooks.onEvent(event, r.index);
          const error = r.errors[liveLayer];
          if (error) {
            fail(error);
            return;
          }
          if (!r.done[liveLayer]) return;
          liveLayer++;
        }
        hooks.onEvent(runEvents.runDone(finishReplayRun(r.source.label, r.run, r.reports)), r.index);
        live++;
        liveLayer = -1;
      }
      if (!settled) settle(() => resolve(runs.flatMap((r) => r.failures.flat())));
    };
    const guarded = (work: () => void): void => {
      if (settled) return;
      try {
        work();
      } catch (error) {
        fail(error);
      }
    };

    const next = (worker: Worker, thread: number): void => {
      // Its own runs' layers first (largest first), then the largest left of any run: a thread
      // keeps to few runs (less to open, prepare and compile) and the threads still finish together.
      const own = home[thread]!;
      let i = tasks.findIndex((t) => t.order < cutoff && own.has(t.run));
      if (i < 0) i = tasks.findIndex((t) => t.order < cutoff);
      if (i < 0) {
        worker.postMessage({ type: 'stop' } satisfies TaskMessage);
        return;
      }
      const task = tasks.splice(i, 1)[0]!;
      worker.postMessage({ type: 'task', run: task.run, layer: task.layer } satisfies TaskMessage);
    };
    for (const [thread, worker] of pool.entries()) {
      worker.on('message', (message: WorkerMessage) =>
        guarded(() => {
          if (message.type === 'event') {
            const r = byIndex.get(message.runIndex)!;
            const event = message.event;
            const layer = 'index' in event ? event.index : -1;
            if (event.type === 'layer-done') r.reports[layer] = event.layer;
            if (message.runIndex === runs[live]?.index && layer === liveLayer) hooks.onEvent(event, r.index);
            else r.held[layer]!.push(event);
          } else if (message.type === 'task-done') {
            const r = byIndex.get(message.run)!;
            r.done[message.layer] = true;
            r.failures[message.layer]!.push(...message.failures);
            next(worker, thread);
            advance();
          } else if (message.type === 'task-error') {
            const r = byIndex.get(message.run)!;
            r.errors[message.layer] = rebuildError(message.error);
            cutoff = Math.min(cutoff, orderOf(message.run, message.layer));
            next(worker, thread);
            advance();
          } else if (message.type === 'error') {
            fail(rebuildError(message.error));
          }
        }),
      );
      worker.on('error', fail);
      worker.on('exit', (code) => {
        if (code !== 0) fail(new Error(`a replay worker stopped (exit ${code}) before it finished`));
      });
      next(worker, thread);
    }
  });
}

/**
 * Each thread's own runs: the runs dealt out by total cost, largest to the least loaded thread, so
 * each thread starts on its own runs and takes another's layers only when its own are done.
 */
function homeRuns(
  runs: readonly SequencedRun[],
  tasks: readonly { readonly run: number; readonly cost: number }[],
  threads: number,
): Set<number>[] {
  const cost = new Map<number, number>();
  for (const t of tasks) cost.set(t.run, (cost.get(t.run) ?? 0) + t.cost);
  const load = new Array<number>(threads).fill(0);
  const home = Array.from({ length: threads }, () => new Set<number>());
  const byCost = [...runs].sort((a, b) => cost.get(b.index)! - cost.get(a.index)! || a.index - b.index);
  for (const r of byCost) {
    const thread = load.indexOf(smallest(load));
    home[thread]!.add(r.index);
    load[thread]! += cost.get(r.index)!;
  }
  return home;
}

/** Headers only: what each run of `base` will replay, for its run-start and to share out its layers. */
async function readRuns(base: ReplayPlan): Promise<SequencedRun[]> {
  const runs: SequencedRun[] = [];
  for (const [s, source] of base.traces.entries()) {
    const reader = labelled(await openTrace(source.path), source.label);
    try {
      for (const [h, hardware] of base.hardware.entries()) {
        const run = prepareReplayRun(reader, hardware, base.toolVersion);
        const layers = run.layers.length;
        runs.push({
          index: s * base.hardware.length + h,
          source,
          run,
          held: Array.from({ length: layers }, () => []),
          done: new Array<boolean>(layers).fill(false),
          errors: new Array<Error | undefined>(layers).fill(undefined),
          failures: Array.from({ length: layers }, () => []),
          reports: [],
        });
      }
    } finally {
      await reader.close();
    }
  }
  return runs;
}

function rebuildError(error: PostedError): Error {
  if ('rule' in error) {
    // Same one-line message and exit code as on the main thread (the CLI prints InputError.toLine()).
    const rebuilt = new InputError(error.source, error.location, error.rule);
    rebuilt.name = error.name;
    return rebuilt;
  }
  return new Error(error.message);
}

/** An error as a worker posts it. */
export function postedError(error: unknown): PostedError {
  return error instanceof InputError
    ? { name: error.name, source: error.source, location: error.location, rule: error.rule }
    : { message: error instanceof Error ? error.message : String(error) };
}
