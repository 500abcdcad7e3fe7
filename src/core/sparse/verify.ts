import type { Dataflow } from '../array.js';
import type { BitMatrix } from './bits.js';
import type { LoweredSparseLayer } from './layer-lowering.js';
import type { LaneOperands } from './operand-bits.js';

/** Relative tolerance of verification (f32 accumulation against an f64 dense product). */
export const VERIFY_RELATIVE_TOLERANCE = 1e-4;

/**
 * How a trace stored an operand's values: exactly (f32, the recorder's own precision), rounded to
 * IEEE binary16, or as int8 × a per-tensor scale. Decides how far a stored value may sit from the
 * value the model computed (docs/trace-format.md, "Verify against the stored precision").
 */
export type StoredPrecision =
  | { readonly kind: 'exact' }
  | { readonly kind: 'f16' }
  | { readonly kind: 'int8'; readonly scale: number };

/** 2^-24: the spacing of binary16 numbers below 2^-14 (subnormals), the smallest spacing it has. */
export const F16_MIN_ULP = 2 ** -24;

/**
 * Per element, a bound on |stored − computed| for values stored at `precision`: 0 (exact); half the
 * binary16 spacing at the stored value (round to nearest: the true value lies within half a spacing
 * of the stored one, on the side of the stored value's own spacing, the larger one at a power of
 * two); half the int8 scale (round half away from zero, clamped at ±127 = max|x|, never beyond).
 */
export function storageErrorBound(values: Float32Array, precision: StoredPrecision): Float32Array {
  const out = new Float32Array(values.length);
  if (precision.kind === 'int8') out.fill(precision.scale / 2);
  else if (precision.kind === 'f16') {
    for (let i = 0; i < values.length; i++) {
      const v = Math.abs(values[i]!);
      // Spacing of binary16 at |v|: 2^(e − 10) for v in [2^e, 2^(e+1)), at least the subnormal one.
      const ulp = v < 2 ** -14 ? F16_MIN_ULP : 2 ** (Math.floor(Math.log2(v)) - 10);
      out[i] = ulp / 2;
    }
  }
  return out;
}

/**
 * Operand values of one step, for verification: A (q_t, or the stored Δ_t in delta mode), B, and in
 * delta mode q_t; optionally per-element bounds on their storage error (`storageErrorBound`) for
 * Δ_t (`aError`) and q_t (`qError`), when they were stored at a lower precision than computed.
 */
export interface VerifyValues {
  readonly a: Float32Array;
  readonly b: Float32Array;
  readonly q?: Float32Array;
  readonly aError?: Float32Array;
  readonly qError?: Float32Array;
}

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
  dense: { readonly values: Float64Array; readonly scale: Float64Array; readonly slack?: Float64Array },
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
      // What the stored precision explains (absolute) is not an error of the schedule.
      const error = Math.max(0, Math.abs(got[i]! - dense.values[i]!) - (dense.slack?.[i] ?? 0));
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

/**
 * Verification of one layer across steps. Each step, every instance's result through the lane
 * schedule is compared with the dense product. In delta mode the scheduled outputs accumulate
 * y_t = y_{t−1} + W·Δ_t from the key frame on and are compared with W·q_t. Two allowances: f32
 * rounding, relative to Σ|Δ·w| of every term accumulated since the key frame (not to the final value,
 * which may be a near-cancellation); and the storage error of the operands, absolute: the stored
 * Δ_s and q_t each sit within their bound e of what the model computed, and Σ_s Δ_s = q_t held for
 * the computed values, so |Σ_s W·Δ̃_s − W·q̃_t| ≤ Σ_k |W| · (Σ_s e(Δ_s) + e(q_t)). A dropped MAC
 * removes a term |Δ·w| no allowance covers, unless the trace's own precision hides it.
 */
export function createLayerVerifier(
  low: LoweredSparseLayer,
  dataflow: Dataflow,
  delta: boolean,
  skipCausalOutputs: boolean,
): { check(instance: number, lanes: LaneOperands, values: VerifyValues, keyFrame: boolean): VerifyOutcome } {
  const outputs = low.gemm.m * low.gemm.n;
  const fresh = <T>(make: (n: number) => T): T[] =>
    Array.from({ length: low.instances }, () => make(outputs));
  let state: Float32Array[] | undefined;
  let scale: Float64Array[] | undefined;
  let slack: Float64Array[] | undefined;
  return {
    check(instance, lanes, values, keyFrame) {
      if (!delta) {
        const out = new Float32Array(outputs);
        scheduledProduct(low, instance, lanes, dataflow, values.a, values.b, out);
        // Both sides use the same stored values: their storage error cancels.
        return compareOutputs(
          low,
          instance,
          out,
          denseProduct(low, instance, values.a, values.b),
          skipCausalOutputs,
        );
      }
      if (!state || !scale || !slack || (keyFrame && instance === 0)) {
        state = fresh((n) => new Float32Array(n));
        scale = fresh((n) => new Float64Array(n));
        slack = fresh((n) => new Float64Array(n));
      }
      const out = state[instance]!;
      scheduledProduct(low, instance, lanes, dataflow, values.a, values.b, out);
      const dense = denseProduct(low, instance, values.q ?? values.a, values.b);
      const accumulated = scale[instance]!;
      const stepScale = denseProduct(low, instance, values.a, values.b).scale;
      for (let j = 0; j < outputs; j++) accumulated[j] = accumulated[j]! + stepScale[j]!;
      const storage = slack[instance]!;
      if (values.aError) {
        const stepSlack = denseProduct(low, instance, values.aError, values.b).scale;
        for (let j = 0; j < outputs; j++) storage[j] = storage[j]! + stepSlack[j]!;
      }
      const qSlack = values.qError ? denseProduct(low, instance, values.qError, values.b).scale : undefined;
      return compareOutputs(
        low,
        instance,
        out,
        {
          values: dense.values,
          scale: accumulated.map((s, j) => Math.max(s, dense.scale[j]!)),
          slack: qSlack ? storage.map((s, j) => s + qSlack[j]!) : storage,
        },
        skipCausalOutputs,
      );
    },
  };
}
