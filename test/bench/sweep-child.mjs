/**
 * Child process of sweep.bench.ts: one 64-design sweep in a fresh process as the CLI runs it (the
 * built modules in dist/, the worker pool started before the spec is read), then the same sweep
 * again on the now warm pool into a new database. Prints one JSON line: per run the wall time of
 * the sweep (runSweep) and of what came before it (the spec read while the pool starts; the same
 * serial start-up whatever the worker count), when each stage ended, and the CPU time over the run
 * (start-up included) of the main thread, of each worker thread and of every other thread (V8's
 * compiler and GC, libuv, DuckDB).
 *
 * node --import ./worker-tid.mjs sweep-child.mjs SPEC_JSON THREADS DIR [DIST], with
 * DELTASIM_BENCH_WORKER_TIDS=FILE (the worker threads' kernel ids, see worker-tid.mjs); DIST is the
 * build to measure (default this checkout's dist/: an earlier build's for before/after). Plain
 * JavaScript so that the worker threads it starts load the built modules without a TypeScript loader.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const [documentJson, threadsText, dir, dist = join(root, 'dist')] = process.argv.slice(2);
const tidsFile = process.env.DELTASIM_BENCH_WORKER_TIDS;
if (!documentJson || !threadsText || !dir || !tidsFile)
  throw new Error('usage: DELTASIM_BENCH_WORKER_TIDS=FILE sweep-child.mjs SPEC_JSON THREADS DIR');
const threads = Number(threadsText);
const load = (path) => import(pathToFileURL(join(dist, path)).href);
const [{ createPointPool, poolExecutor }, { runSweep }, { sweepSpecFromDocument }, { preloadDuckDb }] =
  await Promise.all([
    load('sweep/point-pool.js'),
    load('sweep/run-sweep.js'),
    load('sweep/spec.js'),
    load('sweep/result-store.js'),
  ]);

/** CPU time in ms of every live thread of this process, by kernel thread id. */
function threadCpuMs() {
  const cpu = new Map();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      cpu.set(tid, Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e6);
    } catch {
      // the thread ended meanwhile: its time stays in the process total
    }
  }
  return cpu;
}

const processCpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

/**
 * The threads the process started with, by kind: Node starts V8's platform threads (optimising
 * compiler, GC helpers) first and libuv's pool (UV_THREADPOOL_SIZE, default 4: file reads and
 * DuckDB's queries) after them, so by kernel id the pool is the last of them.
 */
function initialThreads() {
  const tids = readFileSync(`${tidsFile}.initial`, 'utf8')
    .split('\n')
    .filter((t) => t && t !== String(process.pid))
    .sort((a, b) => Number(a) - Number(b));
  const libuvCount = Math.min(tids.length, Number(process.env.UV_THREADPOOL_SIZE ?? 4));
  return {
    v8: new Set(tids.slice(0, tids.length - libuvCount)),
    libuv: new Set(tids.slice(tids.length - libuvCount)),
  };
}

/**
 * CPU over a run: main thread, each worker (largest first), V8's platform threads, libuv's pool,
 * threads started later (DuckDB's own), and the rest of the process (threads that ended meanwhile,
 * such as DuckDB's at close, count in `otherMs` through the process total). `otherMs` is every
 * thread but the main one and the workers, as before.
 */
function cpuSplit(before, after, processMs) {
  const workers = new Set(readFileSync(tidsFile, 'utf8').split('\n').filter(Boolean));
  const { v8, libuv } = initialThreads();
  let mainMs = 0;
  let v8Ms = 0;
  let libuvMs = 0;
  let laterMs = 0;
  const workerMs = [];
  for (const [tid, ms] of after) {
    const used = ms - (before.get(tid) ?? 0);
    if (tid === String(process.pid)) mainMs = used;
    else if (workers.has(tid)) workerMs.push(used);
    else if (v8.has(tid)) v8Ms += used;
    else if (libuv.has(tid)) libuvMs += used;
    else laterMs += used;
  }
  workerMs.sort((a, b) => b - a);
  const otherMs = processMs - mainMs - workerMs.reduce((a, b) => a + b, 0);
  return { mainMs, workerMs, otherMs, v8Ms, libuvMs, laterMs };
}

const runs = [];
let cpuBefore = threadCpuMs();
let processBefore = processCpuMs();
let start = performance.now();
// As the CLI: the threads start (module loads) while this thread reads the spec, then open the
// workloads (an earlier build may lack `prepare`) while this thread goes on into the sweep.
const pool = await createPointPool(threads);
const executor = poolExecutor(pool);
// As the CLI (an earlier build may lack it): DuckDB's module loads while the spec is read.
preloadDuckDb?.();
const spec = await sweepSpecFromDocument(JSON.parse(documentJson), { source: 'bench.yaml', dir: root });
pool.prepare?.(spec.workloads);
for (const run of ['cold', 'warm']) {
  const sweepStart = performance.now();
  const summary = await runSweep({
    spec,
    dbPath: join(dir, `${process.pid}-${run}.duckdb`),
    toolVersion: 'bench',
    executor,
  });
  const end = performance.now();
  if (summary.computed !== 64) throw new Error(`computed ${summary.computed} of 64`);
  const cpuAfter = threadCpuMs();
  const processAfter = processCpuMs();
  runs.push({
    run,
    wallMs: end - sweepStart,
    setupMs: sweepStart - start,
    phases: summary.phases,
    cpu: cpuSplit(cpuBefore, cpuAfter, processAfter - processBefore),
  });
  cpuBefore = cpuAfter;
  processBefore = processAfter;
  start = performance.now();
}
await executor.close();
console.log(JSON.stringify({ threads, runs }));
