import { resolve } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { PRESETS } from '../../src/core/presets.js';
import { evaluatePoint, prepareWorkloads } from '../../src/sweep/evaluate-point.js';
import * as reader from '../../src/trace/reader.js';

vi.mock('../../src/trace/reader.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/trace/reader.js')>();
  return { ...original, openTrace: vi.fn(original.openTrace) };
});

const trace = {
  kind: 'trace' as const,
  path: resolve('traces/delta-cnn-dal.safetensors'),
  label: 'delta-cnn-dal.safetensors',
  gemm: false,
};

describe('prepareWorkloads', () => {
  it("opens a trace once, before the first design, which then reuses it; a missing file is left to the design's own error", async () => {
    const openTrace = vi.mocked(reader.openTrace);
    const missing = { ...trace, path: resolve('no/such.safetensors'), label: 'such' };
    await prepareWorkloads([trace, missing]);
    // The missing file does not stop the others, nor reject.
    expect(openTrace.mock.calls.filter(([path]) => path === trace.path)).toHaveLength(1);
    const metrics = await evaluatePoint({
      hardware: PRESETS['sparten-like']!,
      workload: trace,
      toolVersion: 'test',
    });
    expect(metrics.cycles).toBeGreaterThan(0);
    expect(openTrace.mock.calls.filter(([path]) => path === trace.path)).toHaveLength(1);
    await expect(
      evaluatePoint({ hardware: PRESETS['sparten-like']!, workload: missing, toolVersion: 'test' }),
    ).rejects.toThrow(/such/);
  }, 120_000);
});
