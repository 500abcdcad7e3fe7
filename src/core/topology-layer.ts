/**
 * One row of a SCALE-Sim topology, as plain numbers: a convolution over an `ifmapHeight` ×
 * `ifmapWidth` × `channels` input with `numFilters` filters of `filterHeight` × `filterWidth`.
 * GEMM rows are expressed in the same shape (see `gemmRowAsLayer` in ./lowering.ts), as SCALE-Sim does.
 */
export interface TopologyLayer {
  readonly name: string;
  readonly ifmapHeight: number;
  readonly ifmapWidth: number;
  readonly filterHeight: number;
  readonly filterWidth: number;
  readonly channels: number;
  readonly numFilters: number;
  readonly strideHeight: number;
  readonly strideWidth: number;
}

/** Which SCALE-Sim input mode a topology came from: conv rows, or `Layer, M, N, K` rows (`-i gemm`). */
export type TopologyKind = 'conv' | 'gemm';
