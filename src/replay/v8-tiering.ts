import { setFlagsFromString } from 'node:v8';

/**
 * V8's profiler budget before a function is considered for optimization: 8× Node 20's default
 * (V8 11.3, `--interrupt-budget=67584`). Only when V8 optimizes changes, never what runs.
 */
export const REPLAY_INTERRUPT_BUDGET = 8 * 67584;

/**
 * Tunes V8's tiering for a replay process: called by `replay` (src/cli/commands/replay.ts) just
 * before the replay code loads, and by a pool thread's first import (./replay-worker-tiering.ts);
 * flags are per process, so whichever of the two runs second changes nothing, but each entry is
 * right on its own (src/cli/main.ts says why not earlier). At the default budget TurboFan optimized
 * ~140 functions of a two-preset replay, most of them per-layer-step code that runs for
 * a few ms in all, and recompiled many after deoptimizations on feedback a later layer or design
 * completed — on every thread again, where with `--workers 2` the compiler threads compete with
 * the replay threads for the cores. A higher budget leaves warm code in the baseline tiers and
 * optimizes the hot kernels once, on fuller feedback.
 *
 * Why 8× and not 4×: memory. A TurboFan job works in a zone of up to ~3 MiB malloc'd on whichever
 * of V8's background threads runs it, and glibc keeps what a thread frees in that thread's arena
 * (after a large block is freed it even raises the size it trims at), so peak RSS grew with the
 * number of jobs a run reaches. At 4× a 64-step replay (sparten-like, `--workers 1`) ran 45 jobs
 * against 9 at 1 step — among them `step`, `replaySteps`, `kernelScan` and the read-ahead `read`
 * (15–40 ms compiles each), which spend their time in the WebAssembly kernels and system calls and
 * run as fast in baseline code — and peak RSS grew ~+9 % from 1 to 64 steps, the glibc arenas most
 * of it (+1.8 % with TurboFan off). At 8× those four stay in baseline code (31 jobs; what is left
 * is mostly the header parse of a 64× longer header, and `laneTiming`), the growth is ~+2.5 %, and
 * the main thread's CPU time is the same (docs/replay-performance.md).
 */
export function tuneTieringForReplay(): void {
  setFlagsFromString(`--interrupt-budget=${REPLAY_INTERRUPT_BUDGET}`);
}
