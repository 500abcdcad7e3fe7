/**
 * The definition of executed / gated / skipped MACs, one MAC at a time, read straight off a
 * layer's geometry (not the engine's lowering): the reference the fast bit-level counting must
 * reproduce. Quadratic and slow on purpose; for the small layers of a property test.
 */
import type { OperandSupport } from '../core/hardware.js';
import type { SparseLayerSpec } from '../core/sparse/layer-lowering.js';

export interface BruteCounts {
  executed: number;
  gated: number;
  /** Skipped because the A operand (activation or delta) was zero. */
  zeroA: number;
  /** Skipped because the B operand (weight or rhs) was zero. */
  zeroB: number;
  /** Skipped as a zero known by construction (padding, causal mask). */
  structural: number;
}

export interface BrutePolicy {
  readonly aSupport: OperandSupport;
  readonly bSupport: OperandSupport;
  /** The array skips structural zeros (it does when it can skip any operand). */
  readonly structuralSkip: boolean;
}

/**
 * Counts over every MAC of one step. `aBits` / `bBits` hold one 0/1 byte per element of the A
 * tensor ([H, W, C] for convs, [instances, M, K] otherwise) and of the B tensor ([Fh, Fw, C, N]
 * for convs, [K, N] shared or [instances, K, N] otherwise).
 */
/** The B element (instance, k, n) of a layer reads, as an index into the B tensor's elements. */
export function bElementOf(
  spec: SparseLayerSpec,
  bOperand: 'weight' | 'rhs',
): (i: number, k: number, n: number) => number {
  const { n: N, k: K } = spec.gemm;
  const conv = spec.op === 'conv2d' || spec.op === 'depthwise';
  const C = spec.inputShape[2] ?? 1;
  const sharedWeight =
    bOperand === 'weight' &&
    spec.operandShape !== undefined &&
    spec.operandShape.reduce((a, b) => a * b, 1) === K * N;
  if (spec.op === 'depthwise') return (i, k, n) => k * C * N + i * N + n;
  if (conv || sharedWeight) return (_i, k, n) => k * N + n;
  return (i, k, n) => (i * K + k) * N + n;
}

/**
 * Whether a static weight keeps an N:M pattern: in every instance and column, each group of `m`
 * consecutive weights along K (the last one may be shorter) holds at most `n` non-zeros.
 */
export function keepsNmPattern(
  spec: SparseLayerSpec,
  bBits: ArrayLike<number>,
  nm: { readonly n: number; readonly m: number },
): boolean {
  const { n: N, k: K } = spec.gemm;
  const bElement = bElementOf(spec, 'weight');
  for (let i = 0; i < spec.gemmCount; i++)
    for (let n = 0; n < N; n++)
      for (let k0 = 0; k0 < K; k0 += nm.m) {
        let nonZeros = 0;
        for (let k = k0; k < Math.min(K, k0 + nm.m); k++) nonZeros += bBits[bElement(i, k, n)] ? 1 : 0;
        if (nonZeros > nm.n) return false;
      }
  return true;
}

export function bruteForceCounts(
  spec: SparseLayerSpec,
  bOperand: 'weight' | 'rhs',
  aBits: ArrayLike<number>,
  bBits: ArrayLike<number>,
  policy: BrutePolicy,
): BruteCounts {
  const { m: M, n: N, k: K } = spec.gemm;
  const r: BruteCounts = { executed: 0, gated: 0, zeroA: 0, zeroB: 0, structural: 0 };
  const causal = spec.structural === 'causal';
  const outputCausal = causal && spec.op !== 'attention-values';
  const operandCausal = causal && spec.op === 'attention-values';
  const conv = spec.op === 'conv2d' || spec.op === 'depthwise';
  const depthwise = spec.op === 'depthwise';
  const [H, W, C] = spec.inputShape as [number, number, number];
  const fw = spec.kernel?.[1] ?? 1;
  const [sh, sw] = spec.stride ?? [1, 1];
  const [pt, , pl] = spec.padding ?? [0, 0, 0, 0];
  const [dh, dw] = spec.dilation ?? [1, 1];
  const wo = conv ? Math.floor((W + pl + (spec.padding?.[3] ?? 0) - dw * (fw - 1) - 1) / sw) + 1 : 0;
  /** The A element of (instance, m, k), or −1 on padding. */
  const aElement = (i: number, m: number, k: number): number => {
    if (!conv) return (i * M + m) * K + k;
    const oh = Math.floor(m / wo);
    const ow = m % wo;
    const channelsInK = depthwise ? 1 : C;
    const ch = depthwise ? i : k % channelsInK;
    const tap = Math.floor(k / channelsInK);
    const ih = oh * sh - pt + Math.floor(tap / fw) * dh;
    const iw = ow * sw - pl + (tap % fw) * dw;
    return ih >= 0 && ih < H && iw >= 0 && iw < W ? (ih * W + iw) * C + ch : -1;
  };
  const bElement = bElementOf(spec, bOperand);
  for (let i = 0; i < spec.gemmCount; i++) {
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        for (let k = 0; k < K; k++) {
          const idx = aElement(i, m, k);
          const aStruct = idx < 0 || (operandCausal && k > m);
          const outStruct = outputCausal && n > m;
          const a = aStruct ? 0 : aBits[idx]!;
          const b = bBits[bElement(i, k, n)]!;
          if (policy.structuralSkip && (aStruct || outStruct)) r.structural++;
          else if (policy.aSupport === 'skip' && !a) r.zeroA++;
          else if (policy.bSupport === 'skip' && !b) r.zeroB++;
          else {
            r.executed++;
            if ((policy.aSupport === 'gate' && !a) || (policy.bSupport === 'gate' && !b)) r.gated++;
          }
        }
      }
    }
  }
  return r;
}
