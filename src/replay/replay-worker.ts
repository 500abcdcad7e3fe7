// First: sets V8's tiering before the other modules are evaluated (./replay-worker-tiering.ts).
import './replay-worker-tiering.js';
import { parentPort, workerData } from 'node:worker_threads';
import type { RunEvent } from '../core/events.js';
import { adoptTrace, type TraceHandover, type TraceReader } from '../trace/reader.js';
import { claimTask, type TaskClaims, type TaskQueues } from './layer-tasks.js';
import { driveReplays, labelled, type ReplayPlan } from './replay-driver.js';
import type { PoolMessage, WorkerData, WorkerMessage } from './worker-driver.js';
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
  servePool();
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

function servePool(): void {
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
  const serve = async (
    plan: ReplayPlan,
    traces: readonly TraceHandover[],
    queues: TaskQueues,
    home: number,
    claims: TaskClaims,
  ): Promise<void> => {
    const readers = new Map<number, TraceReader>();
    const open = async (i: number): Promise<TraceReader> => {
      let reader = readers.get(i);
      if (!reader) {
        reader = labelled(adoptTrace(traces[i]!), plan.traces[i]!.label);
        readers.set(i, reader);
      }
      return reader;
    };
    const replay = layerGroupRunner(plan, open);
    for (let task = claimTask(claims, queues, home); task; task = claimTask(claims, queues, home)) {
      const outcomes = await replay(task, onEvent);
      flush();
      const { layer } = task;
      for (const o of outcomes)
        post(
          'error' in o
            ? { type: 'task-error', run: o.run, layer, error: postedError(o.error) }
            : { type: 'task-done', run: o.run, layer, failures: o.failures },
        );
    }
    for (const reader of readers.values()) await reader.close();
    post({ type: 'idle' });
  };
  port!.on('message', ({ plan, traces, queues, home, claims }: PoolMessage) => {
    void serve(plan, traces, queues, home, claims);
  });
}
