// First: sets V8's tiering before the other modules are evaluated (./replay-worker-tiering.ts).
import './replay-worker-tiering.js';
import { isDeepStrictEqual } from 'node:util';
import { parentPort, workerData } from 'node:worker_threads';
import type { RunEvent } from '../core/events.js';
import { PRESETS } from '../core/presets.js';
import {
  adoptTrace,
  openTrace,
  type TraceHandover,
  type TraceReader,
  traceHandover,
} from '../trace/reader.js';
import { claimTask, createTaskClaims, type LayerTask, layerTasks, type TaskQueues } from './layer-tasks.js';
import { driveReplays, HISTOGRAM_BINS, labelled, type ReplayPlan } from './replay-driver.js';
import { prepareReplayRun } from './replay-trace.js';
import type {
  LayerGroupOutcome,
  PoolGuess,
  PoolMessage,
  WorkerData,
  WorkerMessage,
} from './worker-driver.js';
import { layerGroupRunner, postedError } from './worker-driver.js';

/**
 * Worker-thread entry of `replay`: runs the plan and posts its events, so the main thread stays free
 * to draw and read keys however long a layer's step takes. As a pool thread (`--workers N`) it boots
 * before the plan is known, then reads the traces the main thread opened and checked (their
 * handovers come with the tasks) and takes layer tasks from the shared list until none is left.
 */
const port = parentPort;
if (!port) throw new Error('replay-worker runs only as a worker thread');
const post = (message: WorkerMessage): void => port.postMessage(message);
const data = workerData as WorkerData;

if ('pool' in data) {
  servePool(data.guess);
} else {
  driveReplays(data, {
    onEvent: (event, runIndex) => post({ type: 'event', event, runIndex }),
    onPhase: (text) => post({ type: 'phase', text }),
  }).then(
    (failures) => post({ type: 'done', failures }),
    (error: unknown) => post({ type: 'error', error: postedError(error) }),
  );
}

/**
 * Events go to the main thread in batches (one message per task, or per 50 ms for a live front end):
 * a message costs the main thread about as much as a short layer-step's events are worth.
 */
const FLUSH_MS = 50;

/** A pool thread's head start (`speculate`): its guessed plan and task, then the task's result. */
interface Speculation {
  readonly plan: ReplayPlan;
  readonly readers: readonly TraceReader[];
  readonly handovers: readonly TraceHandover[];
  readonly queues: TaskQueues;
  readonly task: LayerTask;
  /** The task's events and outcomes, held until the main thread's plan confirms the guess. */
  readonly result: Promise<{
    readonly events: { event: RunEvent; runIndex: number }[];
    readonly outcomes: readonly LayerGroupOutcome[];
  }>;
  readonly stop: AbortController;
}

/** The plan `runReplay` builds from the arguments `guess` was read from (src/cli/commands/replay.ts). */
function guessedPlan(guess: PoolGuess): ReplayPlan | undefined {
  const names = guess.presets.length > 0 ? guess.presets : ['sparten-like'];
  if (!names.every((name) => Object.hasOwn(PRESETS, name))) return undefined;
  return {
    traces: guess.traces,
    hardware: names.map((name) => ({ ...PRESETS[name]! })),
    verify: guess.verify,
    toolVersion: guess.toolVersion,
    histogramBins: HISTOGRAM_BINS,
  };
}

/**
 * The head start of a pool thread started before the CLI has checked anything: from the command
 * line's guess, it opens the traces itself, shares out the tasks as the main thread will (the main
 * thread's first task, then one per pool thread in order) and replays its own, holding the events.
 * The main thread needs as long as this thread's boot and more (loading the CLI, opening the traces)
 * before it posts the tasks; without this the thread waited meanwhile. What it did counts only if
 * the main thread's plan, traces (as checked there) and tasks are the very ones guessed and the task
 * is still this thread's to take (`servePool`); otherwise it is stopped and forgotten, as if never
 * started. Undefined where the guess names no plan, a trace does not open (the main thread reports
 * it), or the tasks came (`late`) before this thread had chosen its own: it then takes them as
 * without a guess.
 */
async function speculate(guess: PoolGuess, late: () => boolean): Promise<Speculation | undefined> {
  const plan = guessedPlan(guess);
  if (!plan) return undefined;
  const readers: TraceReader[] = [];
  const forget = async (): Promise<undefined> => {
    for (const reader of readers) await reader.close().catch(() => undefined);
    return undefined;
  };
  try {
    for (const source of plan.traces) {
      readers.push(await openTrace(source.path));
      if (late()) return await forget();
    }
  } catch {
    return await forget();
  }
  const handovers = readers.map(traceHandover);
  const labelledReaders = readers.map((r, i) => labelled(r, plan.traces[i]!.label));
  const runs = labelledReaders.map((reader, index) => ({
    index,
    run: prepareReplayRun(reader, plan.hardware[0]!, plan.toolVersion),
  }));
  const queues = layerTasks(runs, guess.queues);
  const claims = createTaskClaims(queues.length);
  let task: LayerTask | undefined;
  for (let home = 0; home <= guess.home; home++) task = claimTask(claims, queues, home);
  if (!task) return await forget();
  const stop = new AbortController();
  const events: { event: RunEvent; runIndex: number }[] = [];
  const replay = layerGroupRunner(plan, async (i) => labelledReaders[i]!);
  // With a signal the replay yields after every step, so the main thread's message is taken at once.
  const result = replay(task, (event, runIndex) => events.push({ event, runIndex }), stop.signal).then(
    (outcomes) => ({ events, outcomes }),
  );
  return { plan, readers: labelledReaders, handovers, queues, task, result, stop };
}

/** The speculation's result if the main thread's tasks confirm it and `task` is the one it ran. */
function confirmed(s: Speculation | undefined, { plan, traces, queues }: PoolMessage): s is Speculation {
  return (
    s !== undefined &&
    isDeepStrictEqual(s.plan, plan) &&
    isDeepStrictEqual(s.handovers, traces) &&
    isDeepStrictEqual(s.queues, queues)
  );
}

function servePool(guess: PoolGuess | undefined): void {
  // The head start, once it has chosen its task; `late` once the tasks came.
  let ahead: Speculation | undefined;
  let late = false;
  if (guess) {
    speculate(guess, () => late).then(
      (s) => {
        ahead = s;
      },
      () => undefined,
    );
  }
  let pending: { event: RunEvent; runIndex: number }[] = [];
  let flushed = performance.now();
  const flush = (): void => {
    if (pending.length > 0) post({ type: 'events', events: pending });
    pending = [];
    flushed = performance.now();
  };
  const onEvent = (event: RunEvent, runIndex: number): void => {
    pending.push({ event, runIndex });
    if (performance.now() - flushed >= FLUSH_MS) flush();
  };
  const postOutcomes = (layer: number, outcomes: readonly LayerGroupOutcome[]): void => {
    for (const o of outcomes)
      post(
        'error' in o
          ? { type: 'task-error', run: o.run, layer, error: postedError(o.error) }
          : { type: 'task-done', run: o.run, layer, failures: o.failures },
      );
  };
  const serve = async (message: PoolMessage): Promise<void> => {
    const { plan, traces, queues, home, claims } = message;
    const readers = new Map<number, TraceReader>();
    late = true;
    let task = claimTask(claims, queues, home);
    if (confirmed(ahead, message) && task?.run === ahead.task.run && task.layer === ahead.task.layer) {
      for (const [i, reader] of ahead.readers.entries()) readers.set(i, reader);
      const { events, outcomes } = await ahead.result;
      pending.push(...events);
      flush();
      postOutcomes(task.layer, outcomes);
      task = claimTask(claims, queues, home);
    } else if (ahead) {
      ahead.stop.abort();
      await ahead.result.catch(() => undefined);
      for (const reader of ahead.readers) await reader.close();
    }
    const open = async (i: number): Promise<TraceReader> => {
      let reader = readers.get(i);
      if (!reader) {
        reader = labelled(adoptTrace(traces[i]!), plan.traces[i]!.label);
        readers.set(i, reader);
      }
      return reader;
    };
    const replay = layerGroupRunner(plan, open);
    for (; task; task = claimTask(claims, queues, home)) {
      const outcomes = await replay(task, onEvent);
      flush();
      postOutcomes(task.layer, outcomes);
    }
    for (const reader of readers.values()) await reader.close();
    post({ type: 'idle' });
  };
  port!.on('message', (message: PoolMessage) => {
    void serve(message);
  });
}
