import { BroadcastChannel, workerData } from 'node:worker_threads';
import { InputError } from '../common/input-error.js';
import { evaluatePoint, type PointTask, type PointWorkload, prepareWorkloads } from './evaluate-point.js';
import type { Metrics } from './objectives.js';
import type { PointWorkerData } from './point-pool.js';

// The pool announces a sweep's workloads to all its threads at once (piscina's tasks reach one
// thread each): every thread then opens them before its first design (see `prepareWorkloads`).
const prepareChannel = (workerData as PointWorkerData | undefined)?.prepareChannel;
if (prepareChannel !== undefined) {
  const channel = new BroadcastChannel(prepareChannel);
  // It must not keep an idle thread alive: piscina ends its threads when the pool closes.
  channel.unref();
  channel.onmessage = (event) => void prepareWorkloads(event.data as readonly PointWorkload[]);
}

/** A task's own error as data; `input` when it was bad input (a corrupt trace), so the CLI exits 2. */
export interface PointFailure {
  readonly name: string;
  readonly message: string;
  readonly input?: { readonly source: string; readonly location: string; readonly rule: string };
}

/** A task's figures, or its own error as data: a rejected run then means the thread died. */
export type PointOutcome = { readonly metrics: Metrics } | { readonly failure: PointFailure };

/** A message's tasks done: each one's outcome, in order, and the thread's time on them. */
export interface BatchOutcome {
  readonly outcomes: readonly PointOutcome[];
  /** Wall time this thread spent on the tasks (the runner sizes its batches by it). */
  readonly workMs: number;
}

async function outcomeOf(task: PointTask): Promise<PointOutcome> {
  try {
    return { metrics: await evaluatePoint(task) };
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    const input =
      e instanceof InputError ? { source: e.source, location: e.location, rule: e.rule } : undefined;
    return { failure: { name: e.name, message: e.message, ...(input ? { input } : {}) } };
  }
}

/**
 * piscina's entry: a batch of tasks in (several designs per message when designs are small, so the
 * message round trip is paid once for them), their outcomes out, one after the other in order.
 */
export default async function runPointTasks(tasks: readonly PointTask[]): Promise<BatchOutcome> {
  const start = performance.now();
  const outcomes: PointOutcome[] = [];
  for (const task of tasks) outcomes.push(await outcomeOf(task));
  return { outcomes, workMs: performance.now() - start };
}
