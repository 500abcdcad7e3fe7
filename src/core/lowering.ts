import type { Gemm } from './gemm.js';
import type { TopologyKind, TopologyLayer } from './topology-layer.js';

/** A layer after lowering: the GEMM the array runs, with the conv geometry it came from. */
export interface LoweredLayer {
  readonly name: string;
  /** conv2d, depthwise (one channel of a `DP` layer) or gemm. */
  readonly op: 'conv2d' | 'depthwise' | 'gemm';
  readonly layer: TopologyLayer;
  /** Output rows E and columns F (no padding). */
  readonly ofmapHeight: number;
  readonly ofmapWidth: number;
  readonly gemm: Gemm;
  /**
   * How many times this GEMM runs, back to back: a `DP` layer's channel count (every channel is the
   * same single-channel GEMM), else 1. Engines time it once and multiply, so a 5e6-channel layer
   * costs one layer's work, not five million.
   */
  readonly count: number;
}

/** SCALE-Sim's marker for a depthwise layer: the substring `DP` anywhere in the name, case-sensitive. */
export function isDepthwiseName(name: string): boolean {
  return name.includes('DP');
}

/**
 * A GEMM row `Layer, M, N, K` in SCALE-Sim's conv shape: an M × K "image" of one channel swept by a
 * 1 × K filter, N filters, stride 1. Lowering it gives back exactly [M×K]·[K×N].
 */
export function gemmRowAsLayer(name: string, m: number, n: number, k: number): TopologyLayer {
  return {
    name,
    ifmapHeight: m,
    ifmapWidth: k,
    filterHeight: 1,
    filterWidth: k,
    channels: 1,
    numFilters: n,
    strideHeight: 1,
    strideWidth: 1,
  };
}

/** Output extent along one axis without padding: ceil((in − filter + stride) / stride). */
export function outputExtent(input: number, filter: number, stride: number): number {
  return Math.ceil((input - filter + stride) / stride);
}

/** SCALE-Sim's name for channel `i` of a `DP` layer (it lists every channel as its own layer). */
export function depthwiseChannelName(name: string, i: number): string {
  return `${name}Channel_${i}`;
}

/**
 * Marks a conv topology's `DP` layers: SCALE-Sim splits one into a single-channel layer per input
 * channel (`depthwiseChannelName`), keeping every other field, Num Filter included — kept for parity
 * even though a true depthwise conv has one filter per channel. The channels are identical, so the
 * split is one single-channel layer with `count` = channels. GEMM topologies are never split.
 */
export function expandTopology(
  layers: readonly TopologyLayer[],
  kind: TopologyKind,
): readonly { readonly layer: TopologyLayer; readonly op: LoweredLayer['op']; readonly count: number }[] {
  return layers.map((layer) => {
    if (kind === 'gemm') return { layer, op: 'gemm', count: 1 };
    if (isDepthwiseName(layer.name)) {
      return { layer: { ...layer, channels: 1 }, op: 'depthwise', count: layer.channels };
    }
    return { layer, op: 'conv2d', count: 1 };
  });
}

/** im2col without padding: M = E·F output pixels, K = Fh·Fw·C window, N = filters. */
export function lowerLayer(layer: TopologyLayer, op: LoweredLayer['op'] = 'conv2d', count = 1): LoweredLayer {
  const ofmapHeight = outputExtent(layer.ifmapHeight, layer.filterHeight, layer.strideHeight);
  const ofmapWidth = outputExtent(layer.ifmapWidth, layer.filterWidth, layer.strideWidth);
  return {
    name: layer.name,
    op,
    layer,
    ofmapHeight,
    ofmapWidth,
    gemm: {
      m: ofmapHeight * ofmapWidth,
      k: layer.filterHeight * layer.filterWidth * layer.channels,
      n: layer.numFilters,
    },
    count,
  };
}

/** A whole topology, one lowered layer per row, in the order SCALE-Sim reports it. */
export function lowerTopology(layers: readonly TopologyLayer[], kind: TopologyKind): readonly LoweredLayer[] {
  return expandTopology(layers, kind).map(({ layer, op, count }) => lowerLayer(layer, op, count));
}
