import { fc, test } from '@fast-check/vitest';
import { expect } from 'vitest';
import { laneTiming } from '../../../src/core/sparse/lane-timing.js';
import { lowerSparseLayer } from '../../../src/core/sparse/layer-lowering.js';
import { prepareInstance } from '../../../src/core/sparse/operand-bits.js';
import {
  arbitraryDataflow,
  arbitraryLayer,
  arbitraryPattern,
  arbitrarySupport,
  bruteForceCounts,
  packBits,
} from '../../../src/testing/index.js';

const caseWithMasks = arbitraryLayer().chain((c) =>
  fc.record({
    layer: fc.constant(c),
    a: arbitraryPattern(c.aElements),
    b: arbitraryPattern(c.bElements),
    aSupport: arbitrarySupport,
    bSupport: arbitrarySupport,
    dataflow: arbitraryDataflow,
  }),
);

test.prop([caseWithMasks], { numRuns: 300 })(
  'executed, gated and skipped-by-reason MACs equal a per-MAC brute force; executed + skipped = MACs',
  ({ layer, a, b, aSupport, bSupport, dataflow }) => {
    const low = lowerSparseLayer(layer.spec, layer.bOperand);
    const structuralSkip = aSupport === 'skip' || bSupport === 'skip';
    const policy = { aSupport, bSupport, structuralSkip, dataflow };
    const sum = { executed: 0, gated: 0, zeroA: 0, zeroB: 0, structural: 0, macs: 0 };
    let laneWork = 0;
    for (let i = 0; i < low.instances; i++) {
      const { counts, lanes } = prepareInstance(low, i, packBits(a), packBits(b), policy);
      sum.executed += counts.executed;
      sum.gated += counts.gated;
      sum.zeroA += counts.zeroA;
      sum.zeroB += counts.zeroB;
      sum.structural += counts.structural;
      sum.macs += counts.macs;
      laneWork += laneTiming(lanes, {
        array: { rows: 3, cols: 4 },
        dataflow,
        granularity: 'element',
        lookaheadSteps: Number.POSITIVE_INFINITY,
      }).laneWork;
    }
    const brute = bruteForceCounts(layer.spec, layer.bOperand, a, b, { aSupport, bSupport, structuralSkip });
    expect({ ...sum, macs: undefined }).toEqual({ ...brute, macs: undefined });
    expect(laneWork).toBe(brute.executed);
    expect(sum.executed + sum.zeroA + sum.zeroB + sum.structural).toBe(sum.macs);
    expect(sum.macs).toBe(low.instances * low.gemm.m * low.gemm.n * low.gemm.k);
  },
);
