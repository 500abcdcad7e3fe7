import { describe, expect, test } from 'vitest';
import {
  depthwiseChannelName,
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

  test('one single-channel layer counted channels times, named as the row, Num Filter kept', () => {
    const out = expandTopology([conv({ name: 'x_DP', channels: 3, numFilters: 5 })], 'conv');
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ op: 'depthwise', count: 3 });
    expect(out[0]!.layer).toMatchObject({ name: 'x_DP', channels: 1, numFilters: 5, ifmapHeight: 7 });
    expect(depthwiseChannelName('x_DP', 2)).toBe('x_DPChannel_2');
  });

  test('5e6 channels lower to one layer, not five million', () => {
    const [layer] = lowerTopology([conv({ name: 'huge_DP', channels: 5_000_000 })], 'conv');
    expect(layer).toMatchObject({ name: 'huge_DP', op: 'depthwise', count: 5_000_000 });
    expect(layer!.gemm.k).toBe(9);
  });

  test('later layers follow the DP layer in order, each counted once', () => {
    const lowered = lowerTopology(
      [conv({ name: 'a' }), conv({ name: 'b_DP', channels: 2 }), conv({ name: 'c' })],
      'conv',
    );
    expect(lowered.map((l) => [l.name, l.count])).toEqual([
      ['a', 1],
      ['b_DP', 2],
      ['c', 1],
    ]);
  });

  test('GEMM topologies are never split', () => {
    const out = lowerTopology([gemmRowAsLayer('DP_gemm', 4, 4, 4)], 'gemm');
    expect(out).toHaveLength(1);
    expect(out[0]!.name).toBe('DP_gemm');
  });
});
