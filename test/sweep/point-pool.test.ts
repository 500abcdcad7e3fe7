import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PRESETS } from '../../src/core/presets.js';
import { evaluatePoint } from '../../src/sweep/evaluate-point.js';
import { createPointPool, poolExecutor } from '../../src/sweep/point-pool.js';
import { runSweep } from '../../src/sweep/run-sweep.js';
import { directExecutor, gemmSpec, storedRows, tempDir } from './sweep-helpers.js';

const topology = resolve('configs/topologies/resnet18.csv');

describe('point pool', () => {
  it('a worker thread returns the figures of the direct call', async () => {
    const task = {
      hardware: PRESETS['sparten-like']!,
      workload: { kind: 'topology' as const, path: topology, label: 'resnet18.csv', gemm: false },
      toolVersion: 'test',
    };
    const pool = await createPointPool(1);
    try {
      const viaPool = await pool.run(task);
      expect(viaPool).toEqual(await evaluatePoint(task));
      expect(viaPool.cycles).toBeGreaterThan(0);
      expect(viaPool.areaMm2).toBeGreaterThan(0);
      expect(pool.rerunTasks()).toBe(0);
    } finally {
      await pool.close();
    }
  });

  it('a worker thread killed mid-job loses nothing: the job runs again on a fresh thread', async () => {
    // A trace replay: long enough (thread start-up, module loading, the replay) to be killed mid-job.
    const task = {
      hardware: PRESETS['sparten-like']!,
      workload: {
        kind: 'trace' as const,
        path: resolve('traces/delta-cnn-dal.safetensors'),
        label: 'delta-cnn-dal.safetensors',
        gemm: false,
      },
      toolVersion: 'test',
    };
    const pool = await createPointPool(1);
    try {
      let settled = false;
      const result = pool.run(task).finally(() => {
        settled = true;
      });
      await new Promise((r) => setTimeout(r, 150));
      expect(settled).toBe(false);
      await pool.liveThreads()[0]!.terminate();
      expect(await result).toEqual(await evaluatePoint(task));
      expect(pool.rerunTasks()).toBe(1);
    } finally {
      await pool.close();
    }
  }, 120_000);

  it("a task's own error is reported as it is, not retried", async () => {
    const pool = await createPointPool(1);
    try {
      await expect(
        pool.run({
          hardware: PRESETS['sparten-like']!,
          workload: { kind: 'trace', path: resolve('no/such.safetensors'), label: 'such', gemm: false },
          toolVersion: 'test',
        }),
      ).rejects.toThrow(/such/);
      expect(pool.rerunTasks()).toBe(0);
    } finally {
      await pool.close();
    }
  }, 60_000);

  it('a batch comes back in order, each task with its own figures or its own error', async () => {
    const good = (preset: string) => ({
      hardware: PRESETS[preset]!,
      workload: { kind: 'topology' as const, path: topology, label: 'resnet18.csv', gemm: false },
      toolVersion: 'test',
    });
    const bad = {
      hardware: PRESETS['sparten-like']!,
      workload: { kind: 'trace' as const, path: resolve('no/such.safetensors'), label: 'such', gemm: false },
      toolVersion: 'test',
    };
    const pool = await createPointPool(1);
    try {
      const { results, workMs } = await pool.runBatch([good('sparten-like'), bad, good('eyeriss-like')]);
      expect(results).toHaveLength(3);
      expect(results[0]).toEqual({ metrics: await evaluatePoint(good('sparten-like')) });
      expect('error' in results[1]! && results[1].error.message).toMatch(/such/);
      expect(results[2]).toEqual({ metrics: await evaluatePoint(good('eyeriss-like')) });
      expect(workMs).toBeGreaterThan(0);
    } finally {
      await pool.close();
    }
  }, 60_000);

  it('prepared workloads give the figures of the direct call; a workload that fails to open still fails its designs', async () => {
    const trace = {
      kind: 'trace' as const,
      path: resolve('traces/delta-cnn-dal.safetensors'),
      label: 'delta-cnn-dal.safetensors',
      gemm: false,
    };
    const missing = { ...trace, path: resolve('no/such.safetensors'), label: 'such' };
    const task = { hardware: PRESETS['sparten-like']!, workload: trace, toolVersion: 'test' };
    const pool = await createPointPool(2);
    try {
      pool.prepare([
        trace,
        missing,
        { kind: 'topology', path: topology, label: 'resnet18.csv', gemm: false },
      ]);
      const [a, b] = await Promise.all([pool.run(task), pool.run(task)]);
      const direct = await evaluatePoint(task);
      expect(a).toEqual(direct);
      expect(b).toEqual(direct);
      await expect(pool.run({ ...task, workload: missing })).rejects.toThrow(/such/);
    } finally {
      await pool.close();
    }
  }, 120_000);

  it('a sweep on two threads, each holding its next task, writes the rows of the direct run', async () => {
    const spec = await gemmSpec({ rows: [4, 8, 16, 32], cols: [8, 16], dataflow: ['os', 'ws'] });
    const dir = tempDir();
    await runSweep({
      spec,
      dbPath: join(dir, 'direct.duckdb'),
      toolVersion: 'test',
      executor: directExecutor(),
    });
    const pool = await createPointPool(2);
    const executor = poolExecutor(pool);
    expect(executor.parallelism).toBe(4);
    try {
      const summary = await runSweep({
        spec,
        dbPath: join(dir, 'pool.duckdb'),
        toolVersion: 'test',
        executor,
      });
      expect(summary).toMatchObject({ computed: 16, reused: 0 });
    } finally {
      await executor.close();
    }
    expect(await storedRows(join(dir, 'pool.duckdb'), spec)).toEqual(
      await storedRows(join(dir, 'direct.duckdb'), spec),
    );
  }, 120_000);
});
