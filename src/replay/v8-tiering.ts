import { setFlagsFromString } from 'node:v8';

/**
 * V8's profiler budget before a function is considered for optimization: 4× Node 20's default
 * (V8 11.3, `--interrupt-budget=67584`). Only when V8 optimizes changes, never what runs.
 */
export const REPLAY_INTERRUPT_BUDGET = 4 * 67584;

/**
 * Tunes V8's tiering for a replay process; called by the CLI entry before the replay code loads
 * (flags are per process: the worker threads get them too). At the default budget TurboFan
 * optimized ~140 functions of a two-preset replay, most of them per-layer-step code that runs for
 * a few ms in all, and recompiled many after deoptimizations on feedback a later layer or design
 * completed — on every thread again, where with `--workers 2` the compiler threads compete with
 * the replay threads for the cores. A 4× budget leaves warm code in the baseline tiers and
 * optimizes the hot kernels once, on fuller feedback: half the compiles and half the compiler CPU,
 * the same main-thread CPU (README, "Tests and benchmarks").
 */
export function tuneTieringForReplay(): void {
  setFlagsFromString(`--interrupt-budget=${REPLAY_INTERRUPT_BUDGET}`);
}
