import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { InputError } from '../common/input-error.js';
import type { RunEvent } from '../core/events.js';
import type { ReplayDriverHooks, ReplayPlan, RunVerifyFailure } from './replay-driver.js';

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
