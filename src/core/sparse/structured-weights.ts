import type { Gemm } from '../gemm.js';
import type { NmPattern } from '../hardware.js';
import type { LoweredSparseLayer } from './layer-lowering.js';
import type { StoredBits } from './memory.js';

/**
 * Kept slots along a reduction of length `k`: N per full group of M, and min(N, k mod M) for a last
 * partial group — a group shorter than N has no slot to drop (K = 1 keeps 1 slot, not 2).
 */
export function nmKeptK(k: number, nm: NmPattern): number {
  return Math.floor(k / nm.m) * nm.n + Math.min(nm.n, k % nm.m);
}

/**
 * N:M structured weights (docs/model.md, "Structured N:M weights"): groups of M consecutive
 * weights along K, at most N non-zero in each. The array runs only the kept slots of a group,
 * so a GEMM `[M×K]·[K×N]` costs what the dense `[M×K']·[K'×N]` costs with K' = nmKeptK(K).
 */
export function nmGemm(gemm: Gemm, nm: NmPattern): Gemm {
  return { ...gemm, k: nmKeptK(gemm.k, nm) };
}

/** Bits of one position inside a group (2 for 2:4). */
export function nmIndexBits(nm: NmPattern): number {
  return Math.ceil(Math.log2(nm.m));
}

/**
 * Storage of an N:M weight: the kept value slots of every column (payload, zeros among them
 * included) and a ⌈log2 M⌉-bit position per slot (metadata). `elements` counts every weight of B,
 * K per column.
 */
export function nmStoredBits(elements: number, k: number, nm: NmPattern, wordBits: number): StoredBits {
  const slots = (elements / k) * nmKeptK(k, nm);
  return { payloadBits: slots * wordBits, metadataBits: slots * nmIndexBits(nm) };
}

/**
 * The first group (instance, column n, first k of the group) of a weight mask with more than N
 * non-zeros, or undefined when the mask obeys the pattern.
 */
export function nmViolation(
  low: LoweredSparseLayer,
  bMask: Uint8Array,
  nm: NmPattern,
): { readonly instance: number; readonly n: number; readonly k: number } | undefined {
  const { n: N, k: K } = low.gemm;
  const instances = low.bInstanceStride > 0 ? low.instances : 1;
  for (let i = 0; i < instances; i++) {
    const base = i * low.bInstanceStride;
    for (let n = 0; n < N; n++) {
      for (let k0 = 0; k0 < K; k0 += nm.m) {
        let nonzeros = 0;
        for (let k = k0; k < Math.min(K, k0 + nm.m); k++) {
          const bit = base + k * low.bRowStride + n * low.bColStride;
          nonzeros += (bMask[bit >>> 3]! >>> (bit & 7)) & 1;
        }
        if (nonzeros > nm.n) return { instance: i, n, k: k0 };
      }
    }
  }
  return undefined;
}
