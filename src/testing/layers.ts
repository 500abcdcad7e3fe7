/**
 * Layer shapes the replay lowers (conv, depthwise, dense, attention), valid by construction: every
 * shape satisfies the lowering's rules (output extent ≥ 1, gemm matching the geometry), so a
 * property never spends its runs on rejected layers. Sizes shrink toward 1.
 */
import fc from 'fast-check';
import type { SparseLayerSpec } from '../core/sparse/layer-lowering.js';

/** A layer with the operand its B side is: a static `weight`, or a per-step activation `rhs`. */
export interface LayerCase {
  readonly spec: SparseLayerSpec;
  readonly bOperand: 'weight' | 'rhs';
  /** Elements of one step's A operand tensor (`input` / `delta`). */
  readonly aElements: number;
  /** Elements of the B operand tensor. */
  readonly bElements: number;
}

export type LayerKind = 'conv2d' | 'depthwise' | 'dense' | 'attention';
export const LAYER_KINDS: readonly LayerKind[] = ['conv2d', 'depthwise', 'dense', 'attention'];

export interface LayerOptions {
  /** Which kinds to draw (default all). */
  readonly kinds?: readonly LayerKind[];
  /** Largest spatial extent, channel count and reduction length (default 7, 4, 70). */
  readonly maxSpatial?: number;
  readonly maxChannels?: number;
  readonly maxReduction?: number;
}

/** A dense layer [M×K]·[K×N] with its own [K, N] weight. */
export function denseLayerSpec(m: number, k: number, n: number, name = 'fc'): SparseLayerSpec {
  return { name, op: 'dense', inputShape: [m, k], operandShape: [k, n], gemm: { m, n, k }, gemmCount: 1 };
}

function denseArb(o: Required<LayerOptions>): fc.Arbitrary<LayerCase> {
  return fc
    .record({
      m: fc.integer({ min: 1, max: 12 }),
      n: fc.integer({ min: 1, max: 12 }),
      k: fc.integer({ min: 1, max: o.maxReduction }),
    })
    .map(({ m, n, k }) => ({
      spec: denseLayerSpec(m, k, n),
      bOperand: 'weight' as const,
      aElements: m * k,
      bElements: k * n,
    }));
}

function convArb(o: Required<LayerOptions>, depthwise: boolean): fc.Arbitrary<LayerCase> {
  return fc
    .record({
      h: fc.integer({ min: 1, max: o.maxSpatial }),
      w: fc.integer({ min: 1, max: o.maxSpatial }),
      c: fc.integer({ min: 1, max: o.maxChannels }),
      n: fc.integer({ min: 1, max: 5 }),
      fh: fc.integer({ min: 1, max: 3 }),
      fw: fc.integer({ min: 1, max: 3 }),
      s: fc.integer({ min: 1, max: 2 }),
      d: fc.integer({ min: 1, max: 2 }),
      p: fc.integer({ min: 0, max: 2 }),
    })
    .map(({ h, w, c, n, fh, fw, s, d, p }) => {
      // Pad enough for the dilated kernel to fit: the shape is valid whatever was drawn.
      const ph = Math.max(p, Math.ceil((d * (fh - 1) + 1 - h) / 2));
      const pw = Math.max(p, Math.ceil((d * (fw - 1) + 1 - w) / 2));
      const ho = Math.floor((h + 2 * ph - d * (fh - 1) - 1) / s) + 1;
      const wo = Math.floor((w + 2 * pw - d * (fw - 1) - 1) / s) + 1;
      const nOut = depthwise ? 1 : n;
      const spec: SparseLayerSpec = {
        name: depthwise ? 'dw' : 'conv',
        op: depthwise ? 'depthwise' : 'conv2d',
        inputShape: [h, w, c],
        operandShape: [fh, fw, c, nOut],
        kernel: [fh, fw],
        stride: [s, s],
        padding: [ph, ph, pw, pw],
        dilation: [d, d],
        gemm: { m: ho * wo, n: nOut, k: depthwise ? fh * fw : fh * fw * c },
        gemmCount: depthwise ? c : 1,
      };
      return { spec, bOperand: 'weight' as const, aElements: h * w * c, bElements: fh * fw * c * nOut };
    });
}

function attentionArb(o: Required<LayerOptions>): fc.Arbitrary<LayerCase> {
  return fc
    .record({
      t: fc.integer({ min: 1, max: 10 }),
      d: fc.integer({ min: 1, max: Math.min(40, o.maxReduction) }),
      heads: fc.integer({ min: 1, max: 2 }),
      values: fc.boolean(),
    })
    .map(({ t, d, heads, values }) => {
      // scores: [t×d]·[d×t]; values: [t×t]·[t×d]. Causal either way.
      const gemm = values ? { m: t, n: d, k: t } : { m: t, n: t, k: d };
      const spec: SparseLayerSpec = {
        name: values ? 'av' : 'qk',
        op: values ? 'attention-values' : 'attention-scores',
        inputShape: [heads, gemm.m, gemm.k],
        operandShape: [heads, gemm.k, gemm.n],
        gemm,
        gemmCount: heads,
        structural: 'causal',
      };
      return {
        spec,
        bOperand: 'rhs' as const,
        aElements: heads * gemm.m * gemm.k,
        bElements: heads * gemm.k * gemm.n,
      };
    });
}

/** Small random layers of the chosen kinds (every lowering kind by default). */
export function arbitraryLayer(options: LayerOptions = {}): fc.Arbitrary<LayerCase> {
  const o: Required<LayerOptions> = {
    kinds: options.kinds ?? LAYER_KINDS,
    maxSpatial: options.maxSpatial ?? 7,
    maxChannels: options.maxChannels ?? 4,
    maxReduction: options.maxReduction ?? 70,
  };
  const byKind: Record<LayerKind, () => fc.Arbitrary<LayerCase>> = {
    dense: () => denseArb(o),
    conv2d: () => convArb(o, false),
    depthwise: () => convArb(o, true),
    attention: () => attentionArb(o),
  };
  if (o.kinds.length === 0) throw new RangeError('arbitraryLayer: kinds must not be empty');
  return fc.oneof(...o.kinds.map((kind) => byKind[kind]()));
}
