/**
 * `replay`'s worker threads, started by the CLI entry before it loads the CLI (src/replay/replay-pool.ts):
 * as many as the plain and `--json` output use (`--workers` minus this thread), read from the raw
 * arguments. A guess only: `runReplay` checks the flags, takes these threads, starts any more it
 * needs and ends any it does not, so a wrong guess costs time, never a different result.
 */
import { availableParallelism } from 'node:os';
import { prestartReplayPool } from '../../replay/replay-pool.js';
import { SIZE_LIMITS } from '../size-limits.js';

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
  if (n >= 2 && n <= SIZE_LIMITS.workers) prestartReplayPool(n - 1);
}
