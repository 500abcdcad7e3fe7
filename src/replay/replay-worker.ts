import { parentPort, workerData } from 'node:worker_threads';
import { InputError } from '../common/input-error.js';
import { driveReplays, type ReplayPlan } from './replay-driver.js';
import type { WorkerMessage } from './worker-driver.js';

/**
 * Worker-thread entry of `replay` under the dashboard: runs the plan and posts its events, so the
 * main thread stays free to draw and read keys however long a layer's step takes.
 */
const port = parentPort;
if (!port) throw new Error('replay-worker runs only as a worker thread');
const post = (message: WorkerMessage): void => port.postMessage(message);

driveReplays(workerData as ReplayPlan, {
  onEvent: (event, runIndex) => post({ type: 'event', event, runIndex }),
  onPhase: (text) => post({ type: 'phase', text }),
}).then(
  (failures) => post({ type: 'done', failures }),
  (error: unknown) =>
    post({
      type: 'error',
      error:
        error instanceof InputError
          ? { name: error.name, source: error.source, location: error.location, rule: error.rule }
          : { message: error instanceof Error ? error.message : String(error) },
    }),
);
