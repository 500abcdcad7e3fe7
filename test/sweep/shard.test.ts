import { describe, expect, it } from 'vitest';
import { resolveShard } from '../../src/sweep/shard.js';

describe('resolveShard', () => {
  it('takes the shard from --shard, a Slurm job array or a Kubernetes Indexed Job', () => {
    expect(resolveShard('1/3', undefined, {})).toEqual({ index: 1, count: 3 });
    expect(
      resolveShard(undefined, undefined, {
        SLURM_ARRAY_TASK_ID: '5',
        SLURM_ARRAY_TASK_MIN: '3',
        SLURM_ARRAY_TASK_COUNT: '3',
      }),
    ).toEqual({ index: 2, count: 3 });
    expect(resolveShard(undefined, '4', { JOB_COMPLETION_INDEX: '3' })).toEqual({ index: 3, count: 4 });
    expect(
      resolveShard(undefined, undefined, { JOB_COMPLETION_INDEX: '0', DELTASIM_SHARD_COUNT: '2' }),
    ).toEqual({
      index: 0,
      count: 2,
    });
    expect(resolveShard(undefined, undefined, {})).toBeUndefined();
  });

  it('refuses a --shard-count nothing would use (the whole sweep would run in every task)', () => {
    expect(() => resolveShard(undefined, '3', {})).toThrow(
      '--shard-count: needs JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) in the environment; outside one, give --shard i/n',
    );
    expect(() => resolveShard('0/3', '3', {})).toThrow(
      '--shard-count: not with --shard i/n, which gives the count',
    );
    expect(() =>
      resolveShard(undefined, '3', { SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_COUNT: '3' }),
    ).toThrow('--shard-count: not in a Slurm job array');
  });

  it('names the source of a bad index or count', () => {
    expect(() => resolveShard('3/3', undefined, {})).toThrow('--shard: index 3 is not in 0..2');
    expect(() => resolveShard(undefined, '0', { JOB_COMPLETION_INDEX: '0' })).toThrow(
      '--shard-count: "0" is not a shard count ≥ 1',
    );
    expect(() =>
      resolveShard(undefined, undefined, { SLURM_ARRAY_TASK_ID: 'x', SLURM_ARRAY_TASK_COUNT: '2' }),
    ).toThrow('SLURM_ARRAY_TASK_ID: "x" is not a shard index ≥ 0');
  });
});
