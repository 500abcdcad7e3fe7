/**
 * `npm run bench sweep`: one 64-design topology sweep (ResNet-18) on 1 and 2 worker threads (the
 * goal is ≥ 1.7x on 2 cores), the per-job overhead of the thread pool and of the results database
 * against calling the design function directly, and designs per second.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { evaluatePoint, type PointTask } from '../../src/sweep/evaluate-point.js';
import { createPointPool } from '../../src/sweep/point-pool.js';
import { ResultStore } from '../../src/sweep/result-store.js';
import { runSweep } from '../../src/sweep/run-sweep.js';
import { sweepSpecFromDocument } from '../../src/sweep/spec.js';
import { type Measurement, measure, printTable } from './harness.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

export default async function (): Promise<void> {
  const spec = await sweepSpecFromDocument(
    {
      name: 'bench',
      hardware: 'scalesim-default',
      workloads: [{ topology: 'configs/topologies/resnet18.csv' }],
      parameters: {
        rows: [8, 16, 32, 64],
        cols: [8, 16, 32, 64],
        dataflow: ['os', 'ws'],
        'sram.filter': '[32, 128] KiB',
      },
    },
    { source: 'bench.yaml', dir: root },
  );
  const dir = mkdtempSync(join(tmpdir(), 'deltasim-sweep-bench-'));
  let run = 0;
  const rows: Measurement[] = [];
  for (const threads of [1, 2]) {
    const pool = await createPointPool(threads);
    const executor = {
      parallelism: threads,
      run: (_k: string, t: PointTask) => pool.run(t),
      close: () => pool.close(),
    };
    rows.push(
      await measure(
        `64 designs × ResNet-18, ${threads} worker${threads > 1 ? 's' : ''} (pool + DuckDB)`,
        async () => {
          const summary = await runSweep({
            spec,
            dbPath: join(dir, `run-${run++}.duckdb`),
            toolVersion: 'bench',
            executor,
          });
          if (summary.computed !== 64) throw new Error(`computed ${summary.computed} of 64`);
        },
        { iterations: 3, warmup: 1, unitsPerRun: 64, unit: 'designs' },
      ),
    );
    await pool.close();
  }
  const task: PointTask = {
    hardware: { ...spec.base, name: 'bench' },
    workload: {
      kind: 'topology',
      path: join(root, 'configs/topologies/gemm-small.csv'),
      label: 'gemm-small.csv',
      gemm: true,
    },
    toolVersion: 'bench',
  };
  const JOBS = 200;
  const direct = await measure(
    `${JOBS} small jobs called directly`,
    async () => {
      for (let i = 0; i < JOBS; i++) await evaluatePoint(task);
    },
    { iterations: 5, warmup: 1, unitsPerRun: JOBS, unit: 'jobs' },
  );
  const pool = await createPointPool(1);
  const pooled = await measure(
    `${JOBS} small jobs through a 1-thread pool`,
    async () => {
      for (let i = 0; i < JOBS; i++) await pool.run(task);
    },
    { iterations: 5, warmup: 1, unitsPerRun: JOBS, unit: 'jobs' },
  );
  await pool.close();
  const metrics = await evaluatePoint(task);
  const store = await ResultStore.open(join(dir, 'inserts.duckdb'), {
    name: 'bench',
    parameterNames: ['rows'],
    toolVersion: 'bench',
  });
  let key = 0;
  const inserts = await measure(
    `${JOBS} committed result rows`,
    async () => {
      for (let i = 0; i < JOBS; i++)
        await store.insert({
          key: `k${key++}`,
          pointIndex: i,
          workloadIndex: 0,
          workload: 'w',
          params: { rows: 8 },
          metrics,
        });
    },
    { iterations: 5, warmup: 1, unitsPerRun: JOBS, unit: 'rows' },
  );
  // What a sweep's lanes do: hand rows over without waiting, so commits group them.
  const grouped = await measure(
    `${JOBS} result rows handed over at once (group commit)`,
    async () => {
      await Promise.all(
        Array.from({ length: JOBS }, (_, i) =>
          store.insert({
            key: `k${key++}`,
            pointIndex: i,
            workloadIndex: 0,
            workload: 'w',
            params: { rows: 8 },
            metrics,
          }),
        ),
      );
    },
    { iterations: 5, warmup: 1, unitsPerRun: JOBS, unit: 'rows' },
  );
  store.close();
  rmSync(dir, { recursive: true, force: true });
  const [one, two] = rows;
  const perJob = (m: Measurement): number => m.medianMs / JOBS;
  printTable(
    'sweep',
    [...rows, direct, pooled, inserts, grouped],
    [
      `2 workers vs 1: ${(one!.medianMs / two!.medianMs).toFixed(2)}x (goal ≥ 1.7x on 2 free cores)`,
      `pool overhead per job: ${(perJob(pooled) - perJob(direct)).toFixed(3)} ms; database per row: ${perJob(inserts).toFixed(3)} ms one commit each, ${perJob(grouped).toFixed(3)} ms grouped`,
    ],
  );
}
