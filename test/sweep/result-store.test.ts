import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { enumeratePoints, jobsOf } from '../../src/sweep/enumerate.js';
import { evaluatePoint } from '../../src/sweep/evaluate-point.js';
import { ResultStore } from '../../src/sweep/result-store.js';
import { taskOf } from '../../src/sweep/run-sweep.js';
import { gemmSpec, tempDir } from './sweep-helpers.js';

describe('result store', () => {
  it('a key already stored (this session or an earlier one) keeps its first row; batches of any size land whole', async () => {
    const spec = await gemmSpec({ rows: [4, 8, 16, 32], cols: [8, 16] });
    const jobs = jobsOf((await enumeratePoints(spec)).points, spec.workloads, 'test');
    const rows = await Promise.all(
      jobs.map(async (job) => ({
        key: job.key,
        pointIndex: job.point.index,
        workloadIndex: job.workloadIndex,
        workload: job.workload.label,
        params: job.point.params,
        metrics: await evaluatePoint(taskOf(job, 'test')),
      })),
    );
    const dbPath = join(tempDir(), 'store.duckdb');
    const sweep = { name: 'prop', parameterNames: ['rows', 'cols'], toolVersion: 'test' };
    const first = await ResultStore.open(dbPath, sweep);
    // One row on its own, then three at once (one group commit), the first of them a repeat.
    await first.insert(rows[0]!);
    await Promise.all([rows[0]!, rows[1]!, rows[2]!].map((r) => first.insert(r)));
    first.close();
    const second = await ResultStore.open(dbPath, sweep);
    const changed = { ...rows[1]!, metrics: { ...rows[1]!.metrics, cycles: -1 } };
    // A repeat from an earlier session and a repeat within one batch: the first row stays.
    await Promise.all([changed, ...rows.slice(3), rows[4]!].map((r) => second.insert(r)));
    const stored = await second.rows();
    second.close();
    expect(stored).toEqual(rows);
  });
});
