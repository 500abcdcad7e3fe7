import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { InputError } from '../common/input-error.js';
import type { RunEvent } from '../core/events.js';
import {
  type ReplayDriverHooks,
  type ReplayPlan,
  type RunVerifyFailure,
  syntheticLabel,
} from './replay-driver.js';

/** What the worker posts, in order: events and phases, then one `done` or `error`. */
export type WorkerMessage =
  | { readonly type: 'event'; readonly event: RunEvent; readonly runIndex: number }
  | { readonly type: 'phase'; readonly text: string }
  | { readonly type: 'done'; readonly failures: readonly RunVerifyFailure[] }
  | {
      readonly type: 'error';
      readonly error:
        | { readonly name: string; readonly source: string; readonly location: string; readonly rule: string }
        | { readonly message: string };
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
        else settle(() => reject(rebuildError(message.error)));
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

function rebuildError(error: Extract<WorkerMessage, { type: 'error' }>['error']): Error {
  if ('rule' in error) {
    // Same one-line message and exit code as on the main thread (the CLI prints InputError.toLine()).
    const rebuilt = new InputError(error.source, error.location, error.rule);
    rebuilt.name = error.name;
    return rebuilt;
  }
  return new Error(error.message);
}

/**
 * `--workers N`: the plan's runs (each trace on each hardware model) split over up to N worker
 * threads, round-robin in run order. Events reach `hooks` exactly as one worker would send them: the
 * lowest unfinished run streams live, later runs are held until every earlier one is done, so reports
 * and `--json` output do not depend on N. The synthetic trace, if any, is written once first.
 */
export async function driveReplaysInWorkers(
  url: URL,
  plan: ReplayPlan,
  hooks: ReplayDriverHooks,
  workers: number,
): Promise<readonly RunVerifyFailure[]> {
  const traces = [...plan.traces];
  if (plan.synthetic) {
    await driveReplaysInWorker(url, { ...plan, traces: [], hardware: [] }, hooks);
    traces.push({ path: plan.synthetic.path, label: syntheticLabel(plan.synthetic.spec) });
  }
  const base: ReplayPlan = { ...plan, traces, synthetic: undefined };
  const runs = traces.length * plan.hardware.length;
  const threads = Math.max(1, Math.min(workers, runs));
  if (threads === 1) return driveReplaysInWorker(url, base, hooks);
  const held = new Map<number, RunEvent[]>();
  const finished = new Set<number>();
  let live = 0;
  const onEvent = (event: RunEvent, runIndex: number): void => {
    if (runIndex !== live) {
      const queue = held.get(runIndex) ?? [];
      queue.push(event);
      held.set(runIndex, queue);
      if (event.type === 'run-done') finished.add(runIndex);
      return;
    }
    hooks.onEvent(event, runIndex);
    if (event.type !== 'run-done') return;
    // The live run is over: release the next ones, in order, as far as they are complete.
    for (live++; live < runs; live++) {
      for (const e of held.get(live) ?? []) hooks.onEvent(e, live);
      held.delete(live);
      if (!finished.has(live)) break;
    }
  };
  const shares = Array.from({ length: threads }, (_, w) =>
    Array.from({ length: runs }, (_, i) => i).filter((i) => i % threads === w),
  );
  // One failing worker stops the others (an abort already terminates each through the signal).
  const stop = new AbortController();
  const signal = hooks.signal ? AbortSignal.any([hooks.signal, stop.signal]) : stop.signal;
  const results = await Promise.all(
    shares.map((share) =>
      driveReplaysInWorker(url, { ...base, runs: share }, { ...hooks, onEvent, signal }).catch(
        (error: unknown) => {
          stop.abort(error);
          throw error;
        },
      ),
    ),
  );
  return results.flat().sort((a, b) => a.runIndex - b.runIndex);
}
