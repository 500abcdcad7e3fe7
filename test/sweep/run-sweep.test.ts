import { join } from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { enumeratePoints, jobsOf } from '../../src/sweep/enumerate.js';
import type { PointTask } from '../../src/sweep/evaluate-point.js';
import { mergeResults } from '../../src/sweep/merge.js';
import {
  batchSize,
  dispatchOrder,
  estimatedJobCost,
  type JobExecutor,
  runSweep,
  SWEEP_BATCH_TARGET_MS,
} from '../../src/sweep/run-sweep.js';
import { directExecutor, gemmSpec, storedRows, tempDir } from './sweep-helpers.js';

const byKey = <T extends { key: string }>(rows: readonly T[]): T[] =>
  [...rows].sort((a, b) => (a.key < b.key ? -1 : 1));

describe('sweep runner', () => {
  test.prop(
    [
      fc.subarray([4, 8, 16, 32], { minLength: 1 }),
      fc.subarray(['os', 'ws', 'is'], { minLength: 1 }),
      fc.integer({ min: 1, max: 4 }),
    ],
    { numRuns: 6 },
  )('shards 0..n−1 merged = the unsharded sweep', async (rows, dataflows, n) => {
    const spec = await gemmSpec({ rows, dataflow: dataflows, cols: [8] });
    const dir = tempDir();
    await runSweep({
      spec,
      dbPath: join(dir, 'all.duckdb'),
      toolVersion: 'test',
      executor: directExecutor(),
    });
    const shardDbs: string[] = [];
    for (let i = 0; i < n; i++) {
      const dbPath = join(dir, `shard-${i}.duckdb`);
      await runSweep({
        spec,
        dbPath,
        toolVersion: 'test',
        executor: directExecutor(),
        shard: { index: i, count: n },
      });
      shardDbs.push(dbPath);
    }
    const report = await mergeResults(
      shardDbs.map((path) => ({ path, label: path })),
      join(dir, 'merged.duckdb'),
    );
    expect(report).toMatchObject({ missing: 0, duplicates: 0, rows: rows.length * dataflows.length });
    const merged = await storedRows(join(dir, 'merged.duckdb'), spec);
    expect(byKey(merged)).toEqual(byKey(await storedRows(join(dir, 'all.duckdb'), spec)));
  });

  it('merge names a missing shard and a duplicated one', async () => {
    const spec = await gemmSpec({ rows: [4, 8, 16, 32], cols: [8] });
    const dir = tempDir();
    const dbs = [0, 1].map((i) => join(dir, `s${i}.duckdb`));
    for (const [i, dbPath] of dbs.entries())
      await runSweep({
        spec,
        dbPath,
        toolVersion: 'test',
        executor: directExecutor(),
        shard: { index: i, count: 3 },
      });
    const report = await mergeResults(
      [...dbs, dbs[0]!].map((path) => ({ path, label: path })),
      join(dir, 'merged.parquet'),
    );
    // Shard 2 of 3 holds point #2 only; shard 0 (#0, #3) was given twice.
    expect(report.missing).toBe(1);
    expect(report.problems.filter((p) => p.startsWith('missing: point #2 '))).toHaveLength(1);
    expect(report.duplicates).toBe(2);
    expect(report.problems.filter((p) => /^duplicate: point #[03] /.test(p))).toHaveLength(2);
  });

  /**
   * Runs the 16-job sweep on `first`, stopping it once 5 points are done, checks the database holds
   * exactly the jobs `first` ran, then resumes on a fresh executor: returns the rows committed by the
   * stopped run. The resumed database must equal a clean run's, with nothing computed twice.
   */
  async function stopAndResume(
    first: JobExecutor & { readonly calls: string[] },
    controller: AbortController,
  ): Promise<number> {
    const spec = await gemmSpec({ rows: [4, 8, 16, 32], cols: [8, 16], dataflow: ['os', 'ws'] });
    const dir = tempDir();
    const clean = join(dir, 'clean.duckdb');
    await runSweep({ spec, dbPath: clean, toolVersion: 'test', executor: directExecutor() });
    const resumed = join(dir, 'resumed.duckdb');
    let seen = 0;
    await expect(
      runSweep({
        spec,
        dbPath: resumed,
        toolVersion: 'test',
        executor: first,
        signal: controller.signal,
        onEvent: (event) => {
          if (event.type === 'point-done' && ++seen === 5) controller.abort(new Error('stop'));
        },
      }),
    ).rejects.toThrow('stop');
    const committed = (await storedRows(resumed, spec)).length;
    expect(committed).toBe(first.calls.length);
    const second = directExecutor();
    const summary = await runSweep({ spec, dbPath: resumed, toolVersion: 'test', executor: second });
    expect(summary).toMatchObject({ reused: committed, computed: 16 - committed });
    expect(second.calls.filter((k) => first.calls.includes(k))).toEqual([]);
    expect(new Set([...first.calls, ...second.calls]).size).toBe(16);
    expect(await storedRows(resumed, spec)).toEqual(await storedRows(clean, spec));
    return committed;
  }

  it('an aborted run resumed = a clean run: nothing lost, nothing computed twice', async () => {
    // Jobs computed while the 5th commit ran are committed before the run stops: at least 5 rows.
    expect(await stopAndResume(directExecutor(20), new AbortController())).toBeGreaterThanOrEqual(5);
  });

  it('the same with four jobs in flight: the jobs the lanes held when it stopped are committed too', async () => {
    const controller = new AbortController();
    // Six jobs run at once; the next ones (one per lane) wait until the run is stopped, then finish.
    const gate = directExecutor();
    const stopped = new Promise((r) => controller.signal.addEventListener('abort', r));
    const first = {
      ...gate,
      parallelism: 4,
      run: async (key: string, task: PointTask) => {
        if (gate.calls.length >= 6) await stopped;
        return gate.run(key, task);
      },
    };
    expect(await stopAndResume(first, controller)).toBe(10);
  });

  it('batches fill the target at the cost seen, and shrink as the jobs run out', () => {
    expect(batchSize(64, 4, undefined)).toBe(1);
    expect(batchSize(64, 4, SWEEP_BATCH_TARGET_MS / 5)).toBe(5);
    expect(batchSize(64, 4, SWEEP_BATCH_TARGET_MS / 100)).toBe(8);
    expect(batchSize(16, 4, SWEEP_BATCH_TARGET_MS / 100)).toBe(2);
    expect(batchSize(3, 4, 0)).toBe(1);
    expect(batchSize(64, 4, SWEEP_BATCH_TARGET_MS * 3)).toBe(1);
    expect(batchSize(0, 4, 1)).toBe(0);
  });

  it('jobs run in batches write the rows of one job per message', async () => {
    const spec = await gemmSpec({ rows: [4, 8, 16, 32], cols: [8, 16], dataflow: ['os', 'ws'] });
    const dir = tempDir();
    await runSweep({
      spec,
      dbPath: join(dir, 'single.duckdb'),
      toolVersion: 'test',
      executor: directExecutor(),
    });
    const direct = directExecutor();
    const sizes: number[] = [];
    const batching: JobExecutor = {
      ...direct,
      parallelism: 2,
      runBatch: async (tasks) => {
        sizes.push(tasks.length);
        const results = [];
        for (const task of tasks) results.push({ metrics: await direct.run('', task) });
        // A cheap job as the executor reports it: the next batches grow.
        return { results, workMs: tasks.length * 0.1 };
      },
    };
    const summary = await runSweep({
      spec,
      dbPath: join(dir, 'batched.duckdb'),
      toolVersion: 'test',
      executor: batching,
    });
    expect(summary).toMatchObject({ computed: 16, reused: 0 });
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(16);
    expect(Math.max(...sizes)).toBeGreaterThan(1);
    expect(await storedRows(join(dir, 'batched.duckdb'), spec)).toEqual(
      await storedRows(join(dir, 'single.duckdb'), spec),
    );
  });

  it('hands out the small-array (dearest) designs first, ties in enumeration order, every job once', async () => {
    const spec = await gemmSpec({ rows: [32, 4, 16], cols: [16, 8], dataflow: ['os', 'ws'] });
    const jobs = jobsOf((await enumeratePoints(spec)).points, spec.workloads, 'test');
    const ordered = dispatchOrder(jobs);
    expect(ordered.map((j) => j.key).sort()).toEqual(jobs.map((j) => j.key).sort());
    const pes = ordered.map((j) => j.point.hardware.array.rows * j.point.hardware.array.cols);
    expect(pes).toEqual([...pes].sort((a, b) => a - b));
    expect(pes[0]).toBe(32);
    for (let i = 1; i < ordered.length; i++)
      if (estimatedJobCost(ordered[i]!) === estimatedJobCost(ordered[i - 1]!))
        expect(ordered[i]!.point.index).toBeGreaterThan(ordered[i - 1]!.point.index);
    // The runner hands them out in that order, and the rows are those of the enumeration order.
    const direct = directExecutor();
    const dir = tempDir();
    await runSweep({ spec, dbPath: join(dir, 'ordered.duckdb'), toolVersion: 'test', executor: direct });
    expect(direct.calls).toEqual(ordered.map((j) => j.key));
  });
});
