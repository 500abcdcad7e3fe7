import type { Dataflow } from '../array.js';
import type { BitMatrix } from './bits.js';
import type { LoweredSparseLayer } from './layer-lowering.js';
import type { LaneOperands } from './operand-bits.js';

/** Relative tolerance of verification (f32 accumulation against an f64 dense product). */
export const VERIFY_RELATIVE_TOLERANCE = 1e-4;

function aValue(
  low: LoweredSparseLayer,
  values: Float32Array,
  instance: number,
  m: number,
  k: number,
): number {
  const idx = low.aIndex[m * low.gemm.k + k]!;
  return idx < 0 ? 0 : values[instance * low.aInstanceStride + idx]!;
}

function bValue(
  low: LoweredSparseLayer,
  values: Float32Array,
  instance: number,
  k: number,
  n: number,
): number {
  return values[instance * low.bInstanceStride + k * low.bRowStride + n * low.bColStride]!;
}

/** Calls `visit(t)` for every time step a lane works at: set bits of rowBits(r) ∧ colBits(c). */
function forEachStep(
  rowBits: BitMatrix | null,
  r: number,
  colBits: BitMatrix | null,
  c: number,
  T: number,
  visit: (t: number) => void,
): void {
  if (!rowBits && !colBits) {
    for (let t = 0; t < T; t++) visit(t);
    return;
  }
  const words = Math.ceil(T / 32);
  for (let i = 0; i < words; i++) {
    const a = rowBits ? rowBits.words[r * rowBits.wordsPerRow + i]! : 0xffffffff;
    const b = colBits ? colBits.words[c * colBits.wordsPerRow + i]! : 0xffffffff;
    let v = (a & b) >>> 0;
    while (v !== 0) {
      const bit = 31 - Math.clz32(v & -v);
      const t = i * 32 + bit;
      if (t < T) visit(t);
      v = (v & (v - 1)) >>> 0;
    }
  }
}

/**
 * Adds to `out` (M × N, row-major, f32) the product of instance `instance` computed through the lane
 * schedule: only the MACs the lanes execute contribute. Walks the same bits the timing counted, so a
 * needed MAC the schedule dropped shows up as a wrong output.
 */
export function scheduledProduct(
  low: LoweredSparseLayer,
  instance: number,
  lanes: LaneOperands,
  dataflow: Dataflow,
  aValues: Float32Array,
  bValues: Float32Array,
  out: Float32Array,
): void {
  const N = low.gemm.n;
  const { rowBits, colBits, stat } = lanes;
  const T = lanes.temporal;
  for (let r = 0; r < lanes.spatialRows; r++) {
    for (let c = 0; c < lanes.spatialCols; c++) {
      if (stat && !((stat.words[r * stat.wordsPerRow + (c >>> 5)]! >>> (c & 31)) & 1)) continue;
      if (dataflow === 'os') {
        let acc = out[r * N + c]!;
        forEachStep(rowBits, r, colBits, c, T, (k) => {
          acc = Math.fround(
            acc + Math.fround(aValue(low, aValues, instance, r, k) * bValue(low, bValues, instance, k, c)),
          );
        });
        out[r * N + c] = acc;
      } else if (dataflow === 'ws') {
        const w = bValue(low, bValues, instance, r, c);
        forEachStep(rowBits, r, colBits, c, T, (m) => {
          out[m * N + c] = out[m * N + c]! + Math.fround(aValue(low, aValues, instance, m, r) * w);
        });
      } else {
        const a = aValue(low, aValues, instance, c, r);
        forEachStep(rowBits, r, colBits, c, T, (n) => {
          out[c * N + n] = out[c * N + n]! + Math.fround(a * bValue(low, bValues, instance, r, n));
        });
      }
    }
  }
}

/** Dense reference product of one instance in f64, with Σ|a·b| per output for a relative tolerance. */
export function denseProduct(
  low: LoweredSparseLayer,
  instance: number,
  aValues: Float32Array,
  bValues: Float32Array,
): { readonly values: Float64Array; readonly scale: Float64Array } {
  const { m: M, n: N, k: K } = low.gemm;
  const values = new Float64Array(M * N);
  const scale = new Float64Array(M * N);
  const bRow = new Float64Array(N);
  for (let k = 0; k < K; k++) {
    for (let n = 0; n < N; n++) bRow[n] = bValue(low, bValues, instance, k, n);
    for (let m = 0; m < M; m++) {
      const a = aValue(low, aValues, instance, m, k);
      if (a === 0) continue;
      const base = m * N;
      for (let n = 0; n < N; n++) {
        const p = a * bRow[n]!;
        values[base + n] = values[base + n]! + p;
        scale[base + n] = scale[base + n]! + Math.abs(p);
      }
    }
  }
  return { values, scale };
}

export interface VerifyOutcome {
  readonly compared: number;
  readonly mismatches: number;
  readonly maxRelativeError: number;
  readonly first?: {
    readonly instance: number;
    readonly m: number;
    readonly n: number;
    readonly got: number;
    readonly expected: number;
  };
}

/**
 * Compares a scheduled result with the dense one on every output the hardware is meant to produce
 * (outputs a causal mask removes are excluded when the schedule skipped them).
 */
export function compareOutputs(
  low: LoweredSparseLayer,
  instance: number,
  got: Float32Array,
  dense: { readonly values: Float64Array; readonly scale: Float64Array },
  skipCausalOutputs: boolean,
): VerifyOutcome {
  const { m: M, n: N } = low.gemm;
  let compared = 0;
  let mismatches = 0;
  let maxRelativeError = 0;
  let first: VerifyOutcome['first'];
  for (let m = 0; m < M; m++) {
    const upto = skipCausalOutputs && low.outputCausal ? Math.min(m + 1, N) : N;
    for (let n = 0; n < upto; n++) {
      const i = m * N + n;
      compared++;
      const error = Math.abs(got[i]! - dense.values[i]!);
      const scale = dense.scale[i]!;
      const relative = scale > 0 ? error / scale : error;
      if (relative > maxRelativeError) maxRelativeError = relative;
      if (relative > VERIFY_RELATIVE_TOLERANCE) {
        mismatches++;
        first ??= { instance, m, n, got: got[i]!, expected: dense.values[i]! };
      }
    }
  }
  return { compared, mismatches, maxRelativeError, ...(first ? { first } : {}) };
}
