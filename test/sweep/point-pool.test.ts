import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PRESETS } from '../../src/core/presets.js';
import { evaluatePoint } from '../../src/sweep/evaluate-point.js';
import { createPointPool } from '../../src/sweep/point-pool.js';

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
    } finally {
      await pool.close();
    }
  });
});
