/**
 * Preload for a benchmarked child process (`node --import ./worker-tid.mjs …`) with
 * DELTASIM_BENCH_WORKER_TIDS=FILE: every worker thread (they inherit the preload) appends its
 * kernel thread id to FILE, so the child can read each worker's own CPU time
 * (/proc/self/task/TID/schedstat) apart from the main thread's and V8's, libuv's and DuckDB's threads.
 */
import { appendFileSync, readlinkSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';

const out = process.env.DELTASIM_BENCH_WORKER_TIDS;
if (out && !isMainThread) appendFileSync(out, `${readlinkSync('/proc/thread-self').split('/').pop()}\n`);
