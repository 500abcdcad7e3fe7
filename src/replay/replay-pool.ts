/**
 * The worker threads of `replay --workers N`, apart from the work they share (./worker-driver.ts):
 * this module loads nothing but Node's own, so the CLI entry can start the threads before it loads
 * anything else. A thread needs ~50 ms of CPU (its Node environment ~25, then the replay code)
 * before it can take a task, less than the main thread spends loading the CLI, checking the flags
 * and opening the traces: started at the very beginning, it is ready when the tasks come, and it
 * reads the traces as the main thread opened and checked them (../trace/reader.ts, `adoptTrace`).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { WorkerData } from './worker-driver.js';

/**
 * The compiled worker entry beside this module, or undefined when running from TypeScript sources
 * (tests), where a worker could not load it: the caller then runs the plan on its own thread.
 */
export function replayWorkerUrl(): URL | undefined {
  if (!import.meta.url.endsWith('.js')) return undefined;
  const url = new URL('./replay-worker.js', import.meta.url);
  return existsSync(fileURLToPath(url)) ? url : undefined;
}

/** Worker threads for `--workers N`, started before anything else so they boot while this thread checks and plans. */
export interface ReplayPool {
  readonly url: URL;
  readonly threads: readonly Worker[];
  /** Ends every thread (whatever it is doing). */
  stop(): void;
  /** The first error a thread raised before `driveReplaysShared` listened (a failed start). */
  readonly early: { error?: unknown };
}

/**
 * A pool thread's V8 heap limits. Its young generation is capped at 6 MiB (semi-spaces of 2 MiB, the
 * size a 1-step replay stays at): V8 grows the young generation with what survives its collections
 * — opening the trace (which a pool thread did then), whose index grows with its steps, and the
 * first steps — up to 16 MiB
 * semi-spaces, so a thread's peak RSS grew with the trace length although its live data barely
 * does. Measured on `replay --preset sparten-like --preset eyeriss-like --json --workers 2`, peak RSS
 * 1 / 64 steps 114 / 153 → 110 / 135 MiB with no more CPU (the collections copy only the survivors).
 */
const POOL_THREAD_LIMITS = { resourceLimits: { maxYoungGenerationSizeMb: 6 } } as const;

/** A thread started ahead, and how it failed before a pool took it (if it did). */
interface Prestarted {
  readonly worker: Worker;
  failure?: unknown;
}

/** `threads` pool threads, the `ready` ones (if any) first. */
export function startReplayPool(url: URL, threads: number, ready: readonly Prestarted[] = []): ReplayPool {
  const early: { error?: unknown } = {};
  for (const { failure } of ready) early.error ??= failure;
  const started = ready.map((p) => p.worker);
  while (started.length < threads)
    started.push(new Worker(url, { workerData: { pool: true } satisfies WorkerData, ...POOL_THREAD_LIMITS }));
  for (const worker of started) {
    worker.on('error', (error) => {
      early.error ??= error;
    });
  }
  return {
    url,
    threads: started,
    early,
    stop() {
      for (const w of started) void w.terminate();
    },
  };
}

/** Threads started by `prestartReplayPool`, not yet taken. */
const prestarted: Prestarted[] = [];

/**
 * Starts `threads` pool threads now, for a `replayPool` call to come. Until then they do not keep
 * the process alive, so a command that fails first (a bad flag) exits as without them; a thread
 * that fails meanwhile is reported by the pool that takes it.
 */
export function prestartReplayPool(threads: number): void {
  const url = replayWorkerUrl();
  if (!url) return;
  for (let i = 0; i < threads; i++) {
    const entry: Prestarted = {
      worker: new Worker(url, { workerData: { pool: true } satisfies WorkerData, ...POOL_THREAD_LIMITS }),
    };
    entry.worker.on('error', (error) => {
      entry.failure ??= error;
    });
    entry.worker.on('exit', (code) => {
      entry.failure ??= new Error(`a replay worker stopped (exit ${code}) before it started`);
    });
    entry.worker.unref();
    prestarted.push(entry);
  }
}

/**
 * The pool of `threads` threads (undefined for none): the prestarted threads first, topped up with
 * new ones; prestarted threads beyond `threads` are ended.
 */
export function replayPool(url: URL, threads: number): ReplayPool | undefined {
  const ready = prestarted.splice(0, threads);
  for (const surplus of prestarted.splice(0)) void surplus.worker.terminate();
  for (const { worker } of ready) worker.ref();
  return threads > 0 ? startReplayPool(url, threads, ready) : undefined;
}
