/**
 * The sweep law: a design-space sweep split into shards and merged equals the unsharded sweep. It
 * runs the sweep's own point function (what `deltasim sweep` runs) over a small space around the
 * hardware under test, on a small generated GEMM topology.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { defineLaw, expectLaw } from './law.js';

export interface SweepShardCase {
  /** Array rows and dataflows swept (the hardware under test's other fields stay). */
  readonly rows: readonly number[];
  readonly dataflows: readonly string[];
  /** The GEMM every design runs: M, N, K. */
  readonly gemm: readonly [number, number, number];
  readonly shards: number;
}

export const sweepShardsMerged = defineLaw<SweepShardCase>({
  name: 'sweep-shards-merged-equal-full-sweep',
  statement:
    'a sweep over the hardware run as shards 0..n−1 and merged holds every job once, none missing, with the figures of the unsharded sweep',
  arbitrary: () =>
    fc.record({
      rows: fc.uniqueArray(fc.integer({ min: 1, max: 16 }), { minLength: 1, maxLength: 3 }),
      dataflows: fc.subarray(['os', 'ws', 'is'], { minLength: 1 }),
      gemm: fc.tuple(
        fc.integer({ min: 1, max: 24 }),
        fc.integer({ min: 1, max: 24 }),
        fc.integer({ min: 1, max: 24 }),
      ),
      shards: fc.integer({ min: 1, max: 3 }),
    }),
  // Each case runs n + 1 sweeps into DuckDB files and a merge: two cases per check keep it cheap.
  maxRuns: 2,
  describe: (c) =>
    `rows ${c.rows.join(', ')}; dataflows ${c.dataflows.join(', ')}; GEMM ${c.gemm.join('x')}; ${c.shards} shards`,
  async check(subject, c) {
    const { sweepSpecFromDocument } = await import('../../sweep/spec.js');
    const { runSweep } = await import('../../sweep/run-sweep.js');
    const { mergeResults } = await import('../../sweep/merge.js');
    const { evaluatePoint } = await import('../../sweep/evaluate-point.js');
    const { ResultStore } = await import('../../sweep/result-store.js');
    const dir = await mkdtemp(join(tmpdir(), 'deltasim-sweep-law-'));
    try {
      await writeFile(join(dir, 'gemm.csv'), `Layer, M, N, K,\ngemm, ${c.gemm.join(', ')},\n`);
      const parsed = await sweepSpecFromDocument(
        {
          name: 'law',
          workloads: [{ topology: 'gemm.csv', gemm: true }],
          parameters: { rows: [...c.rows], dataflow: [...c.dataflows] },
        },
        { source: 'law.yaml', dir },
      );
      const spec = { ...parsed, base: subject.hardware };
      const executor = {
        parallelism: 1,
        run: (_key: string, task: Parameters<typeof evaluatePoint>[0]) => evaluatePoint(task),
        close: async () => {},
      };
      const toolVersion = 'law';
      const run = (dbPath: string, shard?: { index: number; count: number }) =>
        runSweep({ spec, dbPath, toolVersion, executor, ...(shard ? { shard } : {}) });
      await run(join(dir, 'all.duckdb'));
      const shardDbs = Array.from({ length: c.shards }, (_, i) => join(dir, `shard-${i}.duckdb`));
      for (const [index, dbPath] of shardDbs.entries()) await run(dbPath, { index, count: c.shards });
      const report = await mergeResults(
        shardDbs.map((path) => ({ path, label: path })),
        join(dir, 'merged.duckdb'),
      );
      expectLaw(
        report.missing === 0 && report.duplicates === 0,
        () =>
          `merge: ${report.missing} missing, ${report.duplicates} duplicate (${report.problems.join('; ')})`,
      );
      const rowsOf = async (path: string) => {
        const store = await ResultStore.open(path, {
          name: spec.name,
          parameterNames: spec.parameters.map((p) => p.name),
          toolVersion,
        });
        try {
          return (await store.rows()).sort((a, b) => (a.key < b.key ? -1 : 1));
        } finally {
          store.close();
        }
      };
      const whole = await rowsOf(join(dir, 'all.duckdb'));
      const merged = await rowsOf(join(dir, 'merged.duckdb'));
      expectLaw(
        fc.stringify(merged) === fc.stringify(whole),
        () => `merged shards hold ${merged.length} rows, the unsharded sweep ${whole.length}; they differ`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
});
