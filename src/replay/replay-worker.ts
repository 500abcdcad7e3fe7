import { parentPort, workerData } from 'node:worker_threads';
import { openTrace, type TraceReader } from '../trace/reader.js';
import { driveReplays, labelled, type ReplayPlan, type RunVerifyFailure } from './replay-driver.js';
import type { VerifyFailure } from './replay-trace.js';
import { prepareReplayRun, type ReplayRun, replayRunLayer } from './replay-trace.js';
import type { TaskMessage, WorkerData, WorkerMessage } from './worker-driver.js';
import { postedError } from './worker-driver.js';

/**
 * Worker-thread entry of `replay`: runs the plan and posts its events, so the main thread stays free
 * to draw and read keys however long a layer's step takes. In task mode (`--workers N`, N > 1) it
 * replays the layers the main thread asks for, one at a time, reading the traces itself.
 */
const port = parentPort;
if (!port) throw new Error('replay-worker runs only as a worker thread');
const post = (message: WorkerMessage): void => port.postMessage(message);
const data = workerData as WorkerData;

if ('tasks' in data) {
  serveTasks(data.plan);
} else {
  driveReplays(data as ReplayPlan, {
    onEvent: (event, runIndex) => post({ type: 'event', event, runIndex }),
    onPhase: (text) => post({ type: 'phase', text }),
  }).then(
    (failures) => post({ type: 'done', failures }),
    (error: unknown) => post({ type: 'error', error: postedError(error) }),
  );
}

/** Replays layer after layer as asked; each trace is opened once and each run prepared once. */
function serveTasks(plan: ReplayPlan): void {
  const readers = new Map<number, Promise<TraceReader>>();
  const runs = new Map<number, ReplayRun>();
  const count = plan.hardware.length;
  const run = async (index: number, layer: number): Promise<readonly RunVerifyFailure[]> => {
    const sourceIndex = Math.floor(index / count);
    const source = plan.traces[sourceIndex]!;
    const hardware = plan.hardware[index % count]!;
    let reader = readers.get(sourceIndex);
    if (!reader) {
      reader = openTrace(source.path).then((r) => labelled(r, source.label));
      readers.set(sourceIndex, reader);
    }
    const r = await reader;
    let prepared = runs.get(index);
    if (!prepared) {
      prepared = prepareReplayRun(r, hardware, plan.toolVersion);
      runs.set(index, prepared);
    }
    const failures: VerifyFailure[] = [];
    await replayRunLayer(
      r,
      prepared,
      layer,
      {
        hardware,
        toolVersion: plan.toolVersion,
        verify: plan.verify,
        histogramBins: plan.histogramBins,
        onEvent: (event) => post({ type: 'event', event, runIndex: index }),
      },
      failures,
    );
    return failures.map((failure) => ({
      runIndex: index,
      label: source.label,
      hardware: hardware.name,
      failure,
    }));
  };
  let queue = Promise.resolve();
  port!.on('message', (message: TaskMessage) => {
    if (message.type === 'stop') {
      queue = queue.then(async () => {
        for (const reader of readers.values()) await (await reader.catch(() => undefined))?.close();
        port!.close();
      });
      return;
    }
    const { run: index, layer } = message;
    queue = queue.then(() =>
      run(index, layer).then(
        (failures) => post({ type: 'task-done', run: index, layer, failures }),
        (error: unknown) => post({ type: 'task-error', run: index, layer, error: postedError(error) }),
      ),
    );
  });
}
