/**
 * Preload for a benchmarked CLI process (`node --import ./thread-cpu.mjs dist/cli/main.js …`) with
 * DELTASIM_BENCH_THREAD_CPU=FILE: every thread of the process (the main one and each worker, which
 * inherit the preload) keeps FILE.<threadId> up to date with its own CPU time (Linux
 * /proc/thread-self/schedstat, ns on CPU), sampled every 20 ms and at exit; the main thread also
 * writes the whole process's CPU time (all threads: workers, GC, compilers, file reads) to FILE at
 * exit, and its peak RSS to FILE.rss. The bench then shows how the work is split between the
 * threads, which wall-clock ratios on a loaded machine cannot. A worker stopped by terminate()
 * loses at most its last 20 ms.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { isMainThread, threadId } from 'node:worker_threads';

const out = process.env.DELTASIM_BENCH_THREAD_CPU;
if (out) {
  const cpuMs = () => Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;
  const record = () => writeFileSync(`${out}.${isMainThread ? 'main' : threadId}`, String(cpuMs()));
  setInterval(record, 20).unref();
  process.on('exit', () => {
    record();
    if (isMainThread) {
      const c = process.cpuUsage();
      writeFileSync(out, String((c.user + c.system) / 1000));
      // Peak RSS of the whole process (every thread's heap), in bytes (maxRSS is in KiB).
      writeFileSync(`${out}.rss`, String(process.resourceUsage().maxRSS * 1024));
    }
  });
}
