import { availableParallelism } from 'node:os';
import type { PointTask } from './evaluate-point.js';
import type { Metrics } from './objectives.js';

/** Runs design points on worker threads. */
export interface PointPool {
  run(task: PointTask): Promise<Metrics>;
  close(): Promise<void>;
  readonly threads: number;
}

export const defaultWorkers = (): number => availableParallelism();

/**
 * The worker entry: the compiled `point-worker.js` beside this module, or — running from TypeScript
 * sources under vitest, where a worker thread cannot load `.ts` on Node 20 — a small `.mjs` entry
 * that loads the sources through tsx.
 */
function workerUrl(): URL {
  return import.meta.url.endsWith('.ts')
    ? new URL('./point-worker-tsx.mjs', import.meta.url)
    : new URL('./point-worker.js', import.meta.url);
}

/** A pool of `threads` workers (piscina); every task is one design on one workload. */
export async function createPointPool(threads: number): Promise<PointPool> {
  const { Piscina } = await import('piscina');
  const pool = new Piscina({
    filename: workerUrl().href,
    minThreads: threads,
    maxThreads: threads,
    // A worker holds at most one task: the queue stays in the main thread, where an abort drops it.
    concurrentTasksPerWorker: 1,
    idleTimeout: 60_000,
  });
  return {
    threads,
    run: (task) => pool.run(task) as Promise<Metrics>,
    close: () => pool.destroy(),
  };
}
