import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { evaluatePoint } from '../../src/sweep/evaluate-point.js';
import { type ResultRow, ResultStore } from '../../src/sweep/result-store.js';
import type { JobExecutor } from '../../src/sweep/run-sweep.js';
import { type SweepSpec, sweepSpecFromDocument } from '../../src/sweep/spec.js';

export const FIXTURES = resolve('test/sweep/fixtures');
export const GEMM_SPEC = join(FIXTURES, 'gemm-sweep.yaml');

export const tempDir = (): string => mkdtempSync(join(tmpdir(), 'deltasim-sweep-'));

/**
 * Runs every job on this thread, counting them: what the pool does, without threads. `delayMs`
 * makes each job take at least that long, as a worker's would, so commits overlap jobs.
 */
export function directExecutor(delayMs = 0): JobExecutor & { readonly calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    parallelism: 1,
    run: async (key, task) => {
      calls.push(key);
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      return evaluatePoint(task);
    },
    close: async () => {},
  };
}

/** A spec over the small GEMM topology with the given parameters. */
export function gemmSpec(
  parameters: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Promise<SweepSpec> {
  return sweepSpecFromDocument(
    {
      name: 'prop',
      hardware: 'scalesim-default',
      workloads: [{ topology: '../../../configs/topologies/gemm-small.csv', gemm: true }],
      parameters,
      ...extra,
    },
    { source: 'prop.yaml', dir: FIXTURES },
  );
}

export async function storedRows(dbPath: string, spec: SweepSpec): Promise<ResultRow[]> {
  const store = await ResultStore.open(dbPath, {
    name: spec.name,
    parameterNames: spec.parameters.map((p) => p.name),
    toolVersion: 'test',
  });
  try {
    return await store.rows();
  } finally {
    store.close();
  }
}
