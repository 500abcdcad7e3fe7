/**
 * `replay`'s worker threads, started by the CLI entry before it loads the CLI (src/replay/replay-pool.ts):
 * as many as the plain and `--json` output use (`--workers` minus this thread), read from the raw
 * arguments. A guess only: `runReplay` checks the flags, takes these threads, starts any more it
 * needs and ends any it does not, so a wrong guess costs time, never a different result.
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { prestartReplayPool } from '../../replay/replay-pool.js';
import type { PoolGuess } from '../../replay/worker-driver.js';
import { SIZE_LIMITS } from '../size-limits.js';
import { VERSION } from '../version.js';

/** `args`: the arguments after `replay`. */
export function prestartReplayThreads(args: readonly string[]): void {
  let workers: string | undefined;
  for (const [i, arg] of args.entries()) {
    if (arg === '--') break;
    // Help or a chunked schedule (one thread runs it) needs no pool.
    if (arg === '-h' || arg === '--help' || arg === '--schedule=chunkwise') return;
    if (arg === '--schedule' && args[i + 1] === 'chunkwise') return;
    if (arg === '--workers') workers = args[i + 1];
    else if (arg.startsWith('--workers=')) workers = arg.slice('--workers='.length);
  }
  const n = workers === undefined ? availableParallelism() : /^\d+$/.test(workers) ? Number(workers) : 0;
  if (n >= 2 && n <= SIZE_LIMITS.workers) prestartReplayPool(n - 1, (home) => guessOf(args, n, home));
}

/**
 * What the threads may replay ahead (worker-driver.ts, PoolGuess): the arguments of a replay of
 * trace files on presets whose output leaves this thread one of the N (`--json` or `--ui plain`),
 * with no flag that changes the plan (any other flag: no guess). Thread `home` serves queue `home`.
 */
export function guessOf(args: readonly string[], workers: number, home: number): PoolGuess | undefined {
  const traces: string[] = [];
  const presets: string[] = [];
  let verify = false;
  let mainTakesTasks = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? arg.split(/=(.*)/s) : [arg, undefined];
    const value = (): string | undefined => inline ?? args[++i];
    if (flag === '--json') mainTakesTasks = true;
    else if (flag === '--verify') verify = true;
    else if (flag === '--preset') {
      const name = value();
      if (name === undefined) return undefined;
      presets.push(name);
    } else if (flag === '--ui') {
      const ui = value();
      if (ui === 'plain') mainTakesTasks = true;
      else if (ui !== 'auto') return undefined;
    } else if (flag === '--workers') value();
    else if (arg.startsWith('-')) return undefined;
    else traces.push(arg);
  }
  if (!mainTakesTasks || traces.length === 0) return undefined;
  return {
    traces: traces.map((label) => ({ path: resolve(label), label })),
    presets,
    verify,
    toolVersion: VERSION,
    queues: workers,
    home,
  };
}
