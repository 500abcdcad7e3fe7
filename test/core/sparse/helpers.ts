/**
 * Shared test helpers for the sparse core: random layers and masks, and brute-force references that
 * loop over every MAC (the definition the fast bit-level code must reproduce).
 */
import { fc } from '@fast-check/vitest';
import type { Dataflow } from '../../../src/core/array.js';
import type { OperandSupport } from '../../../src/core/hardware.js';
import type { LevelName, LevelReport, StorageLevel } from '../../../src/core/levels.js';
import type { LoweredSparseLayer, SparseLayerSpec } from '../../../src/core/sparse/layer-lowering.js';

/** The named level of a step's or a report's levels (fails the test when it is absent). */
export function levelNamed<T extends StorageLevel | LevelReport>(levels: readonly T[], name: LevelName): T {
  const found = levels.find((l) => l.name === name);
  if (!found) throw new Error(`no level ${name}`);
  return found;
}

/** A dense layer [M×K]·[K×N] with its own [K, N] weight. */
export function denseLayerSpec(m: number, k: number, n: number, name = 'fc'): SparseLayerSpec {
  return { name, op: 'dense', inputShape: [m, k], operandShape: [k, n], gemm: { m, n, k }, gemmCount: 1 };
}

export function packBits(bits: readonly number[] | Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(bits.length / 8));
  for (let i = 0; i < bits.length; i++) if (bits[i]) out[i >>> 3]! |= 1 << (i & 7);
  return out;
}

export function maskOf(values: Float32Array): Uint8Array {
  const bits = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) bits[i] = values[i] !== 0 ? 1 : 0;
  return packBits(bits);
}

export interface LayerCase {
  readonly spec: SparseLayerSpec;
  readonly bOperand: 'weight' | 'rhs';
  readonly aElements: number;
  readonly bElements: number;
}

/** Small random layers of every lowering kind. */
export const layerCaseArb: fc.Arbitrary<LayerCase> = fc.oneof(
  fc
    .record({
      m: fc.integer({ min: 1, max: 12 }),
      n: fc.integer({ min: 1, max: 12 }),
      k: fc.integer({ min: 1, max: 70 }),
    })
    .map(({ m, n, k }) => ({
      spec: {
        name: 'fc',
        op: 'dense',
        inputShape: [m, k],
        operandShape: [k, n],
        gemm: { m, n, k },
        gemmCount: 1,
      },
      bOperand: 'weight' as const,
      aElements: m * k,
      bElements: k * n,
    })),
  fc
    .record({
      h: fc.integer({ min: 1, max: 7 }),
      w: fc.integer({ min: 1, max: 7 }),
      c: fc.integer({ min: 1, max: 4 }),
      n: fc.integer({ min: 1, max: 5 }),
      fh: fc.integer({ min: 1, max: 3 }),
      fw: fc.integer({ min: 1, max: 3 }),
      s: fc.integer({ min: 1, max: 2 }),
      d: fc.integer({ min: 1, max: 2 }),
      p: fc.integer({ min: 0, max: 2 }),
      depthwise: fc.boolean(),
    })
    .filter(({ h, w, fh, fw, d, p }) => h + 2 * p >= d * (fh - 1) + 1 && w + 2 * p >= d * (fw - 1) + 1)
    .map(({ h, w, c, n, fh, fw, s, d, p, depthwise }) => {
      const ho = Math.floor((h + 2 * p - d * (fh - 1) - 1) / s) + 1;
      const wo = Math.floor((w + 2 * p - d * (fw - 1) - 1) / s) + 1;
      const nOut = depthwise ? 1 : n;
      const spec: SparseLayerSpec = {
        name: depthwise ? 'dw' : 'conv',
        op: depthwise ? 'depthwise' : 'conv2d',
        inputShape: [h, w, c],
        operandShape: [fh, fw, c, nOut],
        kernel: [fh, fw],
        stride: [s, s],
        padding: [p, p, p, p],
        dilation: [d, d],
        gemm: { m: ho * wo, n: nOut, k: depthwise ? fh * fw : fh * fw * c },
        gemmCount: depthwise ? c : 1,
      };
      return { spec, bOperand: 'weight' as const, aElements: h * w * c, bElements: fh * fw * c * nOut };
    }),
  fc
    .record({
      t: fc.integer({ min: 1, max: 10 }),
      d: fc.integer({ min: 1, max: 40 }),
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
    }),
);

export const supportArb: fc.Arbitrary<OperandSupport> = fc.constantFrom('none', 'gate', 'skip');
export const dataflowArb: fc.Arbitrary<Dataflow> = fc.constantFrom('os', 'ws', 'is');

/** Random 0/1 array with a random density. */
export function bitsArb(length: number): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.array(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), {
        minLength: length,
        maxLength: length,
      }),
    )
    .map(([density, u]) => Uint8Array.from(u, (x) => (x < density ? 1 : 0)));
}

export interface BruteCounts {
  executed: number;
  gated: number;
  zeroA: number;
  zeroB: number;
  structural: number;
}

/** Per-MAC brute force of the executed/skipped/gated definition. */
export function bruteCounts(
  low: LoweredSparseLayer,
  aBits: Uint8Array,
  bBits: Uint8Array,
  aSupport: OperandSupport,
  bSupport: OperandSupport,
  structuralSkip: boolean,
): BruteCounts {
  const { m: M, n: N, k: K } = low.gemm;
  const r: BruteCounts = { executed: 0, gated: 0, zeroA: 0, zeroB: 0, structural: 0 };
  for (let i = 0; i < low.instances; i++) {
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        for (let k = 0; k < K; k++) {
          const idx = low.aIndex[m * K + k]!;
          const aStruct = idx < 0 || (low.operandCausal && k > m);
          const outStruct = low.outputCausal && n > m;
          const a = aStruct ? 0 : aBits[i * low.aInstanceStride + idx]!;
          const b = bBits[i * low.bInstanceStride + k * low.bRowStride + n * low.bColStride]!;
          if (structuralSkip && (aStruct || outStruct)) r.structural++;
          else if (aSupport === 'skip' && !a) r.zeroA++;
          else if (bSupport === 'skip' && !b) r.zeroB++;
          else {
            r.executed++;
            if ((aSupport === 'gate' && !a) || (bSupport === 'gate' && !b)) r.gated++;
          }
        }
      }
    }
  }
  return r;
}
