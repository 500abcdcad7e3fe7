/**
 * Preload for a benchmarked child process (`node --import ./worker-tid.mjs …`) with
 * DELTASIM_BENCH_WORKER_TIDS=FILE: every worker thread (they inherit the preload) appends its
 * kernel thread id to FILE, so the child can read each worker's own CPU time
 * (/proc/self/task/TID/schedstat) apart from the main thread's and V8's, libuv's and DuckDB's threads.
 * The main thread writes FILE.initial: the threads the process started with (V8's platform threads,
 * which run its optimising compiler and GC helpers, and libuv's pool, which runs file reads and
 * DuckDB's queries), before any worker or DuckDB thread exists.
 */
import { appendFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';

const out = process.env.DELTASIM_BENCH_WORKER_TIDS;
if (out && !isMainThread) appendFileSync(out, `${readlinkSync('/proc/thread-self').split('/').pop()}\n`);
if (out && isMainThread) writeFileSync(`${out}.initial`, readdirSync('/proc/self/task').join('\n'));
