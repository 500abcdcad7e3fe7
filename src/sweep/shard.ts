import { UsageError } from '../common/input-error.js';
import type { ShardSpec } from './enumerate.js';

const INDEX_RE = /^(0|[1-9]\d{0,8})$/;

function count(text: string, source: string): number {
  if (!INDEX_RE.test(text) || Number(text) < 1)
    throw new UsageError(source, '', `"${text}" is not a shard count ≥ 1`);
  return Number(text);
}

function index(text: string, source: string): number {
  if (!INDEX_RE.test(text)) throw new UsageError(source, '', `"${text}" is not a shard index ≥ 0`);
  return Number(text);
}

/**
 * This process's share of a sweep: `--shard i/n`, else a Slurm job array (SLURM_ARRAY_TASK_ID minus
 * SLURM_ARRAY_TASK_MIN of SLURM_ARRAY_TASK_COUNT), else a Kubernetes Indexed Job
 * (JOB_COMPLETION_INDEX of `--shard-count` or DELTASIM_SHARD_COUNT); none of them, the whole sweep.
 */
export function resolveShard(
  flag: string | undefined,
  shardCount: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): ShardSpec | undefined {
  let shard: ShardSpec | undefined;
  // A count that nothing would use means the user expected sharding that would not happen: the
  // whole sweep would run in every task.
  const unusedCount = (rule: string): UsageError => new UsageError('--shard-count', '', rule);
  if (flag !== undefined) {
    if (shardCount !== undefined) throw unusedCount('not with --shard i/n, which gives the count');
    const m = /^([^/]+)\/([^/]+)$/.exec(flag);
    if (!m) throw new UsageError('--shard', '', `"${flag}" is not i/n (e.g. 0/4)`);
    shard = { index: index(m[1]!, '--shard'), count: count(m[2]!, '--shard') };
  } else if (env.SLURM_ARRAY_TASK_ID !== undefined) {
    if (shardCount !== undefined)
      throw unusedCount('not in a Slurm job array, where SLURM_ARRAY_TASK_COUNT gives the count');
    if (env.SLURM_ARRAY_TASK_COUNT === undefined)
      throw new UsageError('SLURM_ARRAY_TASK_COUNT', '', 'is not set beside SLURM_ARRAY_TASK_ID');
    const min =
      env.SLURM_ARRAY_TASK_MIN === undefined ? 0 : index(env.SLURM_ARRAY_TASK_MIN, 'SLURM_ARRAY_TASK_MIN');
    shard = {
      index: index(env.SLURM_ARRAY_TASK_ID, 'SLURM_ARRAY_TASK_ID') - min,
      count: count(env.SLURM_ARRAY_TASK_COUNT, 'SLURM_ARRAY_TASK_COUNT'),
    };
  } else if (env.JOB_COMPLETION_INDEX !== undefined) {
    const n = shardCount ?? env.DELTASIM_SHARD_COUNT;
    if (n === undefined)
      throw new UsageError(
        'JOB_COMPLETION_INDEX',
        '',
        'needs the shard count: --shard-count N or DELTASIM_SHARD_COUNT',
      );
    shard = {
      index: index(env.JOB_COMPLETION_INDEX, 'JOB_COMPLETION_INDEX'),
      count: count(n, '--shard-count'),
    };
  } else if (shardCount !== undefined) {
    throw unusedCount(
      'needs JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) in the environment; outside one, give --shard i/n',
    );
  }
  if (shard && (shard.index < 0 || shard.index >= shard.count))
    throw new UsageError('--shard', '', `index ${shard.index} is not in 0..${shard.count - 1}`);
  return shard;
}
