import type { SparseLayerSpec } from './sparse/layer-lowering.js';

/**
 * The chunkwise-parallel schedule of a delta-rule (or linear-attention) block as replayable layers
 * (docs/deltanet.md, "Chunked DeltaNet schedule"): per chunk of C tokens and head, the products of
 * the WY/UT form (Yang et al., "Parallelizing Linear Transformers with the Delta Rule over Sequence
 * Length", 2024), each a layer whose step is one chunk and whose B operand is dynamic. Pure: values
 * in, values out; the replay edge (src/replay/chunk-replay.ts) reads the trace and packs the masks.
 */

export type ChunkLayerName =
  | 'kkt'
  | 'solve'
  | 'state-correction'
  | 'inter'
  | 'qkt'
  | 'intra'
  | 'state-update';

export interface ChunkBlockShape {
  readonly rule: 'delta' | 'linear';
  readonly heads: number;
  readonly dk: number;
  readonly dv: number;
  /** C: tokens per chunk (a sequence's partial last chunk is padded with zero tokens). */
  readonly chunk: number;
}

export interface ChunkLayer {
  readonly product: ChunkLayerName;
  readonly spec: SparseLayerSpec;
}

/** Execution order of the products, as manifest.chunkwise lists them. */
export const CHUNK_LAYER_ORDER: readonly ChunkLayerName[] = [
  'kkt',
  'solve',
  'state-correction',
  'inter',
  'qkt',
  'intra',
  'state-update',
];

/**
 * The layers of one block, every B operand a per-chunk `rhs`:
 * - `kkt` (attention-scores, causal): K against the keys shifted down one token (B column n holds
 *   k_{n−1}, column 0 is zero), so output (m, n) = k_m·k_{n−1} with n ≤ m is exactly the strictly
 *   lower part of KKᵀ: the causal upper triangle is structural, the diagonal a zero B column;
 * - `solve` (matmul): the forward substitution, one [1×C]·[C×(d_k+d_v)] instance per row m (row m
 *   needs the finished rows < m, so the rows run one after another): A = row m of
 *   tril(diag(β)KKᵀ, −1) with zero bits at k ≥ m, B = the finished rows of [W U] (zero rows ≥ m);
 * - `state-correction` U − W S and `inter` Q S (delta-rule: B is the state S at the chunk's start);
 * - `qkt` (attention-scores, causal) and `intra` (attention-values, causal: A = P, zero above the diagonal);
 * - `state-update` Kᵀ U' (matmul), its [d_k×d_v] output added into S.
 * Linear attention has U' = V: no kkt, solve or correction.
 */
export function chunkLayers(prefix: string, shape: ChunkBlockShape): ChunkLayer[] {
  const { heads: h, dk, dv, chunk: c } = shape;
  const layer = (
    product: ChunkLayerName,
    op: string,
    count: number,
    m: number,
    k: number,
    n: number,
    structural: 'none' | 'causal' = 'none',
  ): ChunkLayer => ({
    product,
    spec: {
      name: `${prefix}chunk_${product}`,
      op,
      inputShape: [count, m * k],
      operandShape: [count, k, n],
      gemm: { m, n, k },
      gemmCount: count,
      structural,
    },
  });
  const all: ChunkLayer[] = [
    layer('kkt', 'attention-scores', h, c, dk, c, 'causal'),
    layer('solve', 'matmul', h * c, 1, c, dk + dv),
    layer('state-correction', 'delta-rule', h, c, dk, dv),
    layer('inter', 'delta-rule', h, c, dk, dv),
    layer('qkt', 'attention-scores', h, c, dk, c, 'causal'),
    layer('intra', 'attention-values', h, c, c, dv, 'causal'),
    layer('state-update', 'matmul', h, dk, c, dv),
  ];
  const linearless = new Set<ChunkLayerName>(['kkt', 'solve', 'state-correction']);
  return shape.rule === 'delta' ? all : all.filter((l) => !linearless.has(l.product));
}

/**
 * One chunk of one block, per head (row-major, heads first), rows ≥ `rows` zero (padding):
 * k, q [H, C, d_k] (q already scaled by 1/√d_k); βv = diag(β)V [H, C, d_v] (linear: V); β [H, C]
 * (linear: unused); s0 = the state at the chunk's start [H, d_k, d_v].
 */
export interface ChunkInput {
  readonly rows: number;
  readonly k: Float64Array;
  readonly q: Float64Array;
  readonly betaV: Float64Array;
  readonly beta: Float64Array;
  readonly s0: Float64Array;
}

/** The chunk's intermediate values (float64), per head as in `ChunkInput`. */
export interface ChunkValues {
  /** tril(diag(β)KKᵀ, −1) [H, C, C] (delta only). */
  readonly a?: Float64Array;
  /** [W U] = (I + A)⁻¹ diag(β)[K V] [H, C, d_k + d_v] (delta only). */
  readonly x?: Float64Array;
  /** U' = U − W S₀ (linear: V) [H, C, d_v]. */
  readonly corrected: Float64Array;
  /** QKᵀ under the causal mask [H, C, C]. */
  readonly p: Float64Array;
  /** O = Q S₀ + P U' [H, C, d_v]. */
  readonly o: Float64Array;
  /** S₀ + Kᵀ U' [H, d_k, d_v]. */
  readonly sEnd: Float64Array;
}

/** Evaluates the chunk's products in float64, with a forward substitution for the UT transform. */
export function chunkValues(shape: ChunkBlockShape, input: ChunkInput): ChunkValues {
  const { heads: h, dk, dv, chunk: c, rule } = shape;
  const { k, q, betaV, beta, s0 } = input;
  const dx = dk + dv;
  const dot = (x: Float64Array, xi: number, y: Float64Array, yi: number, n: number) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[xi + i]! * y[yi + i]!;
    return s;
  };
  const a = rule === 'delta' ? new Float64Array(h * c * c) : undefined;
  const x = rule === 'delta' ? new Float64Array(h * c * dx) : undefined;
  const corrected = new Float64Array(h * c * dv);
  const p = new Float64Array(h * c * c);
  const o = new Float64Array(h * c * dv);
  const sEnd = Float64Array.from(s0);
  for (let hd = 0; hd < h; hd++) {
    const kq = hd * c * dk;
    const sv = hd * dk * dv;
    const cv = hd * c * dv;
    if (a && x) {
      const ah = hd * c * c;
      const xh = hd * c * dx;
      for (let m = 0; m < c; m++) {
        for (let j = 0; j < m; j++)
          a[ah + m * c + j] = beta[hd * c + m]! * dot(k, kq + m * dk, k, kq + j * dk, dk);
        // X_m = β_m [k_m v_m] − Σ_{j<m} A(m, j) X_j
        const row = xh + m * dx;
        for (let e = 0; e < dk; e++) x[row + e] = beta[hd * c + m]! * k[kq + m * dk + e]!;
        for (let e = 0; e < dv; e++) x[row + dk + e] = betaV[cv + m * dv + e]!;
        for (let j = 0; j < m; j++) {
          const coef = a[ah + m * c + j]!;
          for (let e = 0; e < dx; e++) x[row + e]! -= coef * x[xh + j * dx + e]!;
        }
        // U'_m = U_m − W_m S₀
        for (let e = 0; e < dv; e++) {
          let ws = 0;
          for (let i = 0; i < dk; i++) ws += x[row + i]! * s0[sv + i * dv + e]!;
          corrected[cv + m * dv + e] = x[row + dk + e]! - ws;
        }
      }
    } else {
      corrected.set(betaV.subarray(cv, cv + c * dv), cv);
    }
    for (let m = 0; m < c; m++) {
      for (let j = 0; j <= m; j++) p[hd * c * c + m * c + j] = dot(q, kq + m * dk, k, kq + j * dk, dk);
      for (let e = 0; e < dv; e++) {
        let sum = 0;
        for (let i = 0; i < dk; i++) sum += q[kq + m * dk + i]! * s0[sv + i * dv + e]!;
        for (let j = 0; j <= m; j++) sum += p[hd * c * c + m * c + j]! * corrected[cv + j * dv + e]!;
        o[cv + m * dv + e] = sum;
      }
    }
    for (let i = 0; i < dk; i++) {
      for (let e = 0; e < dv; e++) {
        let sum = 0;
        for (let j = 0; j < c; j++) sum += k[kq + j * dk + i]! * corrected[cv + j * dv + e]!;
        sEnd[sv + i * dv + e]! += sum;
      }
    }
  }
  return { ...(a ? { a } : {}), ...(x ? { x } : {}), corrected, p, o, sEnd };
}

/**
 * A product's operands for one chunk, laid out as its layer (`chunkLayers`) lowers them: A
 * `[count, M·K]`, B `[count, K, N]`. Structural zeros are zero values (so zero mask bits).
 */
export function chunkOperands(
  product: ChunkLayerName,
  shape: ChunkBlockShape,
  input: ChunkInput,
  values: ChunkValues,
): { a: Float32Array; b: Float32Array } {
  const { heads: h, dk, dv, chunk: c } = shape;
  const { k, q, s0 } = input;
  const dx = dk + dv;
  // Kᵀ per head: [d_k, C] from [C, d_k]; `shift` moves token j to column j + 1 (column 0 zero).
  const keysT = (shift: number) => {
    const out = new Float32Array(h * dk * c);
    for (let hd = 0; hd < h; hd++)
      for (let j = 0; j + shift < c; j++)
        for (let i = 0; i < dk; i++) out[hd * dk * c + i * c + j + shift] = k[hd * c * dk + j * dk + i]!;
    return out;
  };
  switch (product) {
    case 'kkt':
      return { a: Float32Array.from(k), b: keysT(1) };
    case 'solve': {
      const a = values.a!;
      const x = values.x!;
      const aOut = new Float32Array(h * c * c);
      const bOut = new Float32Array(h * c * c * dx);
      for (let hd = 0; hd < h; hd++) {
        for (let m = 0; m < c; m++) {
          const inst = hd * c + m;
          for (let j = 0; j < m; j++) aOut[inst * c + j] = a[hd * c * c + m * c + j]!;
          bOut.set(x.subarray(hd * c * dx, (hd * c + m) * dx), inst * c * dx);
        }
      }
      return { a: aOut, b: bOut };
    }
    case 'state-correction': {
      const x = values.x!;
      const w = new Float32Array(h * c * dk);
      for (let r = 0; r < h * c; r++) for (let i = 0; i < dk; i++) w[r * dk + i] = x[r * dx + i]!;
      return { a: w, b: Float32Array.from(s0) };
    }
    case 'inter':
      return { a: Float32Array.from(q), b: Float32Array.from(s0) };
    case 'qkt':
      return { a: Float32Array.from(q), b: keysT(0) };
    case 'intra':
      return { a: Float32Array.from(values.p), b: Float32Array.from(values.corrected) };
    case 'state-update':
      return { a: keysT(0), b: Float32Array.from(values.corrected) };
  }
}

/** Float tolerance of the chunk checks, in units of the magnitudes that enter a value. */
export const CHUNK_CHECK_TOLERANCE = 2 ** -8;

export interface ChunkCheck {
  readonly compared: number;
  readonly mismatches: number;
  /** Largest |got − expected| / scale over the compared values. */
  readonly maxRelativeError: number;
  readonly first?: { readonly index: number; readonly got: number; readonly expected: number };
}

/**
 * Compares values with their reference: a value matches if |got − expected| ≤ tolerance · scale + floor,
 * `scale` the sum of the magnitudes of the terms that made it (per value; rounding of stored
 * operands grows with those, not with the result, which can be a near-cancellation).
 */
export function compareChunk(
  got: Float64Array,
  expected: Float64Array,
  scale: Float64Array,
  tolerance = CHUNK_CHECK_TOLERANCE,
  /** Absolute slack: rounding that does not scale with the terms (a storage format's subnormal step). */
  floor = 0,
): ChunkCheck {
  let mismatches = 0;
  let maxRelativeError = 0;
  let first: ChunkCheck['first'];
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i]! - expected[i]!);
    const s = scale[i]!;
    const slack = Math.max(0, err - floor);
    const rel = s > 0 ? slack / s : slack > 0 ? Number.POSITIVE_INFINITY : 0;
    maxRelativeError = Math.max(maxRelativeError, rel);
    if (rel > tolerance) {
      mismatches++;
      first ??= { index: i, got: got[i]!, expected: expected[i]! };
    }
  }
  return { compared: got.length, mismatches, maxRelativeError, ...(first ? { first } : {}) };
}
