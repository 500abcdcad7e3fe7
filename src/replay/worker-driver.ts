import { Worker } from 'node:worker_threads';
import { InputError } from '../common/input-error.js';
import { type RunEvent, runEvents } from '../core/events.js';
import type { LayerReport } from '../core/report.js';
import { openTrace, type TraceHandover, type TraceReader, traceHandover } from '../trace/reader.js';
import { checkTensorData } from '../trace/validate.js';
import {
  claimTask,
  createTaskClaims,
  cutTasks,
  type LayerTask,
  layerTaskRunner,
  layerTasks,
  type TaskClaims,
  type TaskQueues,
} from './layer-tasks.js';
import {
  labelled,
  type ReplayDriverHooks,
  type ReplayPlan,
  type ReplaySource,
  type RunVerifyFailure,
  synthesizePlanTrace,
  syntheticLabel,
} from './replay-driver.js';
import type { ReplayPool } from './replay-pool.js';
import { finishReplayRun, prepareReplayRun, type ReplayRun } from './replay-trace.js';

/** A worker's error as posted: an InputError keeps what the CLI prints of it. */
export type PostedError =
  | { readonly name: string; readonly source: string; readonly location: string; readonly rule: string }
  | { readonly message: string };

/** What a worker posts: events and phases, then one `done` or `error` (a whole plan); or, as a pool thread, its tasks' outcomes. */
export type WorkerMessage =
  | { readonly type: 'event'; readonly event: RunEvent; readonly runIndex: number }
  | { readonly type: 'phase'; readonly text: string }
  | { readonly type: 'done'; readonly failures: readonly RunVerifyFailure[] }
  | { readonly type: 'error'; readonly error: PostedError }
  /** Pool thread: events of the tasks it runs, in the order they happened. */
  | { readonly type: 'events'; readonly events: readonly { event: RunEvent; runIndex: number }[] }
  /** Pool thread: layer `layer` of run `run` is replayed (its events were posted before). */
  | {
      readonly type: 'task-done';
      readonly run: number;
      readonly layer: number;
      readonly failures: readonly RunVerifyFailure[];
    }
  | { readonly type: 'task-error'; readonly run: number; readonly layer: number; readonly error: PostedError }
  /** Pool thread: no task is left to take. */
  | { readonly type: 'idle' };

/**
 * What the main thread tells a pool thread: the tasks to share, its own queue, and the plan's traces
 * as this thread opened and checked them (by index in `plan.traces`), so the pool thread reads them
 * without parsing their headers again.
 */
export type PoolMessage = {
  readonly type: 'tasks';
  readonly plan: ReplayPlan;
  readonly traces: readonly TraceHandover[];
  readonly queues: TaskQueues;
  readonly home: number;
  readonly claims: TaskClaims;
};

/** A worker's start: a whole plan, or a pool thread that waits for its traces and tasks. */
export type WorkerData = ReplayPlan | { readonly pool: true };

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

/**
 * The plan with its `--synthetic` trace written (by a worker thread, so that Ctrl-C ends a long
 * synthesis step at once) and listed as the last trace.
 */
export async function synthesizeInWorker(
  url: URL,
  plan: ReplayPlan,
  hooks: ReplayDriverHooks,
): Promise<ReplayPlan> {
  if (!plan.synthetic) return plan;
  await driveReplaysInWorker(url, { ...plan, traces: [], hardware: [] }, hooks);
  const { path, spec } = plan.synthetic;
  return { ...plan, traces: [...plan.traces, { path, label: syntheticLabel(spec) }], synthetic: undefined };
}

async function synthesizeHere(plan: ReplayPlan, hooks: ReplayDriverHooks): Promise<ReplayPlan> {
  if (!plan.synthetic) return plan;
  const source = await synthesizePlanTrace(plan.synthetic, hooks);
  return { ...plan, traces: [...plan.traces, source], synthetic: undefined };
}

/**
 * A task of `--workers N` is one layer of one trace on every configuration of the plan (its `run`
 * is the trace's index): the thread that takes it reads and checks each of the layer's tensors once
 * and replays it on every configuration, instead of each configuration's thread reading and
 * checking the same tensors again. One outcome per configuration, in order: run `run` (trace-major
 * numbering) and its `--verify` failures or its error.
 */
export type LayerGroupOutcome =
  | { readonly run: number; readonly failures: readonly RunVerifyFailure[] }
  | { readonly run: number; readonly error: unknown };

export type RunLayerGroup = (
  task: LayerTask,
  onEvent: (event: RunEvent, runIndex: number) => void,
  signal?: AbortSignal,
) => Promise<readonly LayerGroupOutcome[]>;

/** Replays group tasks (`LayerGroupOutcome`) of `plan` on this thread; as `layerTaskRunner`. */
export function layerGroupRunner(
  plan: ReplayPlan,
  readerOf: (sourceIndex: number) => Promise<TraceReader>,
  prepared?: Map<number, ReplayRun>,
): RunLayerGroup {
  const replay = layerTaskRunner(plan, readerOf, prepared);
  const count = plan.hardware.length;
  return (task, onEvent, signal) => {
    const checkedMask = count > 1 ? sharedChecks(count) : undefined;
    // The configurations step through the layer side by side (each awaits its next tensor), so a
    // mask is held only until the last of them has taken it.
    return Promise.all(
      Array.from({ length: count }, async (_, h): Promise<LayerGroupOutcome> => {
        const run = task.run * count + h;
        try {
          return { run, failures: await replay({ ...task, run }, onEvent, signal, checkedMask) };
        } catch (error) {
          return { run, error };
        }
      }),
    );
  };
}

/**
 * `checkTensorData` for `consumers` replays of the same layer: each tensor is read and checked once,
 * and forgotten once every consumer has taken it (a consumer that reads a tensor the others do not,
 * such as a delta-mode configuration, leaves it until the layer is done).
 */
function sharedChecks(consumers: number): (reader: TraceReader, name: string) => Promise<Uint8Array> {
  const pending = new Map<string, { readonly mask: Promise<Uint8Array>; left: number }>();
  return (reader, name) => {
    let entry = pending.get(name);
    if (!entry) {
      entry = { mask: checkTensorData(reader, name), left: consumers };
      pending.set(name, entry);
    }
    if (--entry.left === 0) pending.delete(name);
    return entry.mask;
  };
}

/** One run of the plan as the main thread sequences it. */
interface SequencedRun {
  readonly index: number;
  readonly source: ReplaySource;
  readonly run: ReplayRun;
  /** Per layer: events held until the layer is the one being shown, then whether it finished. */
  readonly held: RunEvent[][];
  readonly done: boolean[];
  readonly errors: (unknown | undefined)[];
  readonly failures: RunVerifyFailure[][];
  readonly reports: LayerReport[];
}

export interface SharedReplayOptions {
  /** Threads besides this one (none: this thread alone). */
  readonly pool?: ReplayPool;
  /** This thread takes tasks too (not when it must stay free to draw a live front end). */
  readonly onThisThread: boolean;
  /** Readers the caller opened, by path (reused, and left open). */
  readonly opened?: ReadonlyMap<string, TraceReader>;
}

/**
 * `--workers N`: the plan's layer replays — every layer of every run (trace × hardware) — taken
 * by the threads from shared queues, largest first, each thread taking the next one when it is
 * free: from its own configuration's queue, then from the others' (./layer-tasks.ts). A layer replays on its own (./replay-trace.ts, `replayRunLayer`): each
 * thread reads only its layers' tensors, through a reader of its own (the pool threads' built from
 * this thread's checked headers, `adoptTrace`), so the threads share no data and scale with the
 * cores even on one run. Events reach `hooks` exactly as one thread would send
 * them: the earliest unfinished layer streams live, later ones are held until it is done, and each
 * run's run-start and run-done come from the same functions as in one thread; so reports and
 * `--json` output do not depend on N. An error is the one the earliest failing layer raises, after
 * every earlier layer's events, as in one thread. The synthetic trace, if any, is written first.
 */
export async function driveReplaysShared(
  plan: ReplayPlan,
  hooks: ReplayDriverHooks,
  { pool, onThisThread, opened }: SharedReplayOptions,
): Promise<readonly RunVerifyFailure[]> {
  const base = pool ? await synthesizeInWorker(pool.url, plan, hooks) : await synthesizeHere(plan, hooks);
  hooks.signal?.throwIfAborted();
  // Headers only: what each run will replay, for its run-start and to share out its layers.
  const readers = new Map<number, TraceReader>();
  const handovers: TraceHandover[] = [];
  try {
    const runs: SequencedRun[] = [];
    for (const [s, source] of base.traces.entries()) {
      const own = opened?.get(source.path) ?? (await openTrace(source.path));
      const reader = labelled(own, source.label);
      readers.set(s, reader);
      if (pool) handovers.push(traceHandover(own));
      for (const [h, hardware] of base.hardware.entries()) {
        const run = prepareReplayRun(reader, hardware, base.toolVersion);
        const layers = run.layers.length;
        runs.push({
          index: s * base.hardware.length + h,
          source,
          run,
          held: Array.from({ length: layers }, () => []),
          done: new Array<boolean>(layers).fill(false),
          errors: new Array<unknown>(layers).fill(undefined),
          failures: Array.from({ length: layers }, () => []),
          reports: [],
        });
      }
    }
    return await shareTasks(base, hooks, runs, readers, handovers, pool, onThisThread);
  } finally {
    for (const [s, reader] of readers)
      if (!opened?.has(base.traces[s]!.path)) await reader.close().catch(() => undefined);
  }
}

function shareTasks(
  base: ReplayPlan,
  hooks: ReplayDriverHooks,
  runs: readonly SequencedRun[],
  readers: ReadonlyMap<number, TraceReader>,
  traces: readonly TraceHandover[],
  pool: ReplayPool | undefined,
  onThisThread: boolean,
): Promise<readonly RunVerifyFailure[]> {
  const threads = pool?.threads ?? [];
  const count = base.hardware.length;
  // One queue per computing thread (this one's is the first); a task is a layer of a trace on every
  // configuration (`layerGroupRunner`), numbered by the trace's first run.
  const first = onThisThread ? 1 : 0;
  const traceRuns = runs
    .filter((r) => r.index % count === 0)
    .map((r) => ({ index: r.index / count, run: r.run }));
  const queues = layerTasks(traceRuns, Math.max(1, first + threads.length));
  const claims = createTaskClaims(queues.length);
  const byIndex = new Map(runs.map((r) => [r.index, r]));
  const orders = new Map(queues.flat().map((t) => [`${t.run}/${t.layer}`, t.order]));
  /**
   * The first task not worth starting once run `run` failed at `layer`: with the trace's first
   * configuration, the same layer (every later layer of it comes after in plan order); with a later
   * one, the next trace's first layer (every layer of this trace has an earlier run to show).
   */
  const cutoff = (run: number, layer: number): number | undefined => {
    const trace = Math.floor(run / count);
    return run % count === 0 ? orders.get(`${trace}/${layer}`) : orders.get(`${trace + 1}/0`);
  };
  for (const [i, w] of threads.entries())
    w.postMessage({
      type: 'tasks',
      plan: base,
      traces,
      queues,
      home: first + i,
      claims,
    } satisfies PoolMessage);

  return new Promise((resolve, reject) => {
    const { signal } = hooks;
    let settled = false;
    /** The run and layer being shown; layer = −1 before its run-start. */
    let live = 0;
    let liveLayer = -1;
    // This thread's own tasks stop at the next step once the outcome is settled.
    const local = new AbortController();
    const settle = (finish: () => void): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      local.abort();
      finish();
    };
    const fail = (error: unknown): void => settle(() => reject(error));
    const onAbort = (): void => fail(signal?.reason);
    signal?.addEventListener('abort', onAbort);
    if (pool?.early.error !== undefined) {
      fail(pool.early.error);
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
          if (error !== undefined) {
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
    const onEvent = (event: RunEvent, runIndex: number): void => {
      const r = byIndex.get(runIndex)!;
      const layer = 'index' in event ? event.index : -1;
      if (event.type === 'layer-done') r.reports[layer] = event.layer;
      if (runIndex === runs[live]?.index && layer === liveLayer) hooks.onEvent(event, runIndex);
      else r.held[layer]!.push(event);
    };
    const taskDone = (run: number, layer: number, failures: readonly RunVerifyFailure[]): void => {
      const r = byIndex.get(run)!;
      r.done[layer] = true;
      r.failures[layer]!.push(...failures);
      advance();
    };
    const taskError = (run: number, layer: number, error: unknown): void => {
      byIndex.get(run)!.errors[layer] = error;
      const cut = cutoff(run, layer);
      if (cut !== undefined) cutTasks(claims, cut);
      advance();
    };

    for (const worker of threads) {
      worker.on('message', (message: WorkerMessage) =>
        guarded(() => {
          if (message.type === 'events') for (const e of message.events) onEvent(e.event, e.runIndex);
          else if (message.type === 'task-done') taskDone(message.run, message.layer, message.failures);
          else if (message.type === 'task-error')
            taskError(message.run, message.layer, rebuildError(message.error));
          else if (message.type === 'error') fail(rebuildError(message.error));
        }),
      );
      worker.on('error', fail);
      worker.on('exit', (code) => {
        if (code !== 0) fail(new Error(`a replay worker stopped (exit ${code}) before it finished`));
      });
    }
    if (onThisThread) {
      const prepared = new Map(runs.map((r) => [r.index, r.run]));
      const replay = layerGroupRunner(base, async (s) => readers.get(s)!, prepared);
      const takeTasks = async (): Promise<void> => {
        for (let task = claimTask(claims, queues, 0); task && !settled; task = claimTask(claims, queues, 0)) {
          // With a signal the layer yields after every step: the pool's messages are taken in between.
          const outcomes = await replay(
            task,
            (event, runIndex) => guarded(() => onEvent(event, runIndex)),
            local.signal,
          );
          for (const o of outcomes)
            guarded(() =>
              'error' in o ? taskError(o.run, task.layer, o.error) : taskDone(o.run, task.layer, o.failures),
            );
        }
      };
      void takeTasks();
    }
    // A plan without layers (or one whose tasks all ran already) is shown at once.
    guarded(advance);
  });
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
