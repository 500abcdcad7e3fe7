import { describe, expect, test } from 'vitest';
import {
  expandTopology,
  gemmRowAsLayer,
  isDepthwiseName,
  lowerLayer,
  lowerTopology,
  outputExtent,
} from '../../src/core/lowering.js';
import type { TopologyLayer } from '../../src/core/topology-layer.js';

const conv = (over: Partial<TopologyLayer> = {}): TopologyLayer => ({
  name: 'c',
  ifmapHeight: 7,
  ifmapWidth: 7,
  filterHeight: 3,
  filterWidth: 3,
  channels: 192,
  numFilters: 384,
  strideHeight: 1,
  strideWidth: 1,
  ...over,
});

describe('outputExtent (no padding)', () => {
  test.each([
    [7, 3, 1, 5],
    [224, 7, 2, 110],
    [56, 1, 2, 29],
    [56, 3, 2, 28],
    [5, 5, 3, 1],
    [10, 3, 4, 3],
  ])('in %i, filter %i, stride %i → %i', (input, filter, stride, expected) => {
    expect(outputExtent(input, filter, stride)).toBe(expected);
  });
});

describe('lowerLayer', () => {
  test('conv by im2col: M = E·F, K = Fh·Fw·C, N = filters', () => {
    const l = lowerLayer(conv());
    expect(l.gemm).toEqual({ m: 25, k: 1728, n: 384 });
    expect([l.ofmapHeight, l.ofmapWidth]).toEqual([5, 5]);
  });

  test('separate strides per axis', () => {
    const l = lowerLayer(
      conv({ ifmapHeight: 30, ifmapWidth: 40, filterHeight: 5, strideHeight: 2, strideWidth: 3 }),
    );
    expect([l.ofmapHeight, l.ofmapWidth]).toEqual([14, 14]);
  });

  test('a GEMM row lowers back to exactly [M×K]·[K×N]', () => {
    const l = lowerLayer(gemmRowAsLayer('g', 128, 64, 256), 'gemm');
    expect(l.gemm).toEqual({ m: 128, n: 64, k: 256 });
    expect(l.op).toBe('gemm');
  });
});

describe('depthwise (DP) split', () => {
  test('DP is case-sensitive and matched anywhere in the name', () => {
    expect(isDepthwiseName('conv_DP1')).toBe(true);
    expect(isDepthwiseName('DPconv')).toBe(true);
    expect(isDepthwiseName('conv_dp1')).toBe(false);
    expect(isDepthwiseName('Dp')).toBe(false);
  });

  test('one layer per channel named <name>Channel_<i>, one channel each, Num Filter kept', () => {
    const out = expandTopology([conv({ name: 'x_DP', channels: 3, numFilters: 5 })], 'conv');
    expect(out.map((o) => o.layer.name)).toEqual(['x_DPChannel_0', 'x_DPChannel_1', 'x_DPChannel_2']);
    for (const o of out) {
      expect(o.op).toBe('depthwise');
      expect(o.layer.channels).toBe(1);
      expect(o.layer.numFilters).toBe(5);
      expect(o.layer.ifmapHeight).toBe(7);
    }
  });

  test('later layers follow the split layers in order', () => {
    const names = lowerTopology(
      [conv({ name: 'a' }), conv({ name: 'b_DP', channels: 2 }), conv({ name: 'c' })],
      'conv',
    ).map((l) => l.name);
    expect(names).toEqual(['a', 'b_DPChannel_0', 'b_DPChannel_1', 'c']);
  });

  test('GEMM topologies are never split', () => {
    const out = lowerTopology([gemmRowAsLayer('DP_gemm', 4, 4, 4)], 'gemm');
    expect(out).toHaveLength(1);
    expect(out[0]!.name).toBe('DP_gemm');
  });
});
