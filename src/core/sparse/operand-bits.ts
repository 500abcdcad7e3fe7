import type { Dataflow } from '../array.js';
import { DATAFLOW_ROLES } from '../dataflow-mapping.js';
import type { OperandSupport } from '../hardware.js';
import {
  type BitMatrix,
  createBitMatrix,
  extractBits,
  packedBit,
  popcount32,
  rowCount,
  rowTotal,
  setBit,
} from './bits.js';
import type { LoweredSparseLayer } from './layer-lowering.js';

/** How the array treats each operand of one GEMM instance. */
export interface OperandPolicy {
  /** The A operand: activations, or deltas in delta mode. */
  readonly aSupport: OperandSupport;
  /** The B operand: weights, or activations for an activation × activation product. */
  readonly bSupport: OperandSupport;
  /** Structural zeros (padding, causal masks) are skipped when the array can skip anything. */
  readonly structuralSkip: boolean;
  readonly dataflow: Dataflow;
}

/**
 * What the lane timing needs of one GEMM instance, in the dataflow's own coordinates: the PE at
 * (row r, column c) of the mapped GEMM works at time t iff `stat(r, c) ∧ rowBits(r, t) ∧ colBits(c, t)`
 * (a null matrix means all ones):
 *
 * | dataflow | r | c | t | rowBits      | colBits                 | stat (stationary)      |
 * |----------|---|---|---|--------------|-------------------------|------------------------|
 * | os       | m | n | k | A[m, ·]      | B[·, n]                 | output not structural  |
 * | ws       | k | n | m | A[·, k]      | output (·, n) allowed   | B[k, n]                |
 * | is       | k | m | n | B[k, ·]      | output (m, ·) allowed   | A[m, k]                |
 */
export interface LaneOperands {
  readonly spatialRows: number;
  readonly spatialCols: number;
  readonly temporal: number;
  readonly rowBits: BitMatrix | null;
  readonly colBits: BitMatrix | null;
  readonly stat: BitMatrix | null;
}

/** Exact MAC counts of one instance (the brute-force definition, computed from per-k counts). */
export interface MacCounts {
  readonly macs: number;
  readonly executed: number;
  /** Executed MACs with a zero operand whose support is `gate`. */
  readonly gated: number;
  /** Skipped because the A operand (activation or delta) was zero. */
  readonly zeroA: number;
  /** Skipped because the B operand was zero (A was not). */
  readonly zeroB: number;
  readonly structural: number;
}

export interface PreparedInstance {
  readonly lanes: LaneOperands;
  readonly counts: MacCounts;
}

/**
 * Builds the lane operands and counts the MACs of instance `instance` from the packed masks.
 * A MAC (m, n, k) is executed iff it is not a skipped structural zero and every operand with `skip`
 * support is non-zero. Skip reasons take precedence structural > zero A > zero B.
 * Cost O(M·K + K·N) bit operations: linear in the operands, not in the MACs.
 */
/** What one instance's B operand contributes, reusable across steps when B is a static weight. */
export interface PreparedB {
  readonly bAct: BitMatrix;
  /** Non-zeros of each B row k. */
  readonly bNz: Int32Array;
  readonly rowOrColBits: BitMatrix | null;
  readonly stat: BitMatrix | null;
  readonly colBits: BitMatrix | null;
}

export function prepareB(
  low: LoweredSparseLayer,
  instance: number,
  bMask: Uint8Array,
  policy: OperandPolicy,
): PreparedB {
  const { m: M, n: N, k: K } = low.gemm;
  const bAct = createBitMatrix(K, N);
  const bBase = instance * low.bInstanceStride;
  for (let kk = 0; kk < K; kk++) {
    const rowBase = bBase + kk * low.bRowStride;
    if (low.bColStride === 1) {
      // Row k is a run of N consecutive mask bits: copied 32 at a time.
      extractBits(bMask, rowBase, N, bAct.words, kk * bAct.wordsPerRow);
    } else {
      for (let nn = 0; nn < N; nn++)
        if (packedBit(bMask, rowBase + nn * low.bColStride)) setBit(bAct, kk, nn);
    }
  }
  const bNz = new Int32Array(K);
  for (let kk = 0; kk < K; kk++) bNz[kk] = rowTotal(bAct, kk);
  const bBits = policy.bSupport === 'skip' ? bAct : null;
  const outCausal = low.outputCausal && policy.structuralSkip;
  const flow = policy.dataflow;
  if (flow === 'os') {
    return {
      bAct,
      bNz,
      rowOrColBits: bBits ? transposeInto(bBits, createBitMatrix(N, K)) : null,
      stat: outCausal ? causalAllowed(M, N) : null,
      colBits: null,
    };
  }
  if (flow === 'ws') {
    // (n, m) allowed iff m ≥ n.
    return {
      bAct,
      bNz,
      rowOrColBits: null,
      stat: bBits,
      colBits: outCausal ? transpose(causalAllowed(M, N)) : null,
    };
  }
  return { bAct, bNz, rowOrColBits: bBits, stat: null, colBits: outCausal ? causalAllowed(M, N) : null };
}

/**
 * Builds the lane operands and counts the MACs of instance `instance` from the packed masks.
 * A MAC (m, n, k) is executed iff it is not a skipped structural zero and every operand with `skip`
 * support is non-zero. Skip reasons take precedence structural > zero A > zero B.
 * Cost O(M·K + K·N) bit operations: linear in the operands, not in the MACs.
 */
export function prepareInstance(
  low: LoweredSparseLayer,
  instance: number,
  aMask: Uint8Array,
  bMask: Uint8Array,
  policy: OperandPolicy,
  preparedB?: PreparedB,
  cache?: OperandCache,
): PreparedInstance {
  // Causal structure varies along k per row: only the per-element walk handles it.
  if (low.outputCausal || low.operandCausal)
    return prepareByIndex(low, instance, aMask, bMask, policy, preparedB);
  const pb = preparedB ?? prepareB(low, instance, bMask, policy);
  return prepareGathered(low, instance, aMask, policy, pb, cache ?? createOperandCache(low));
}

/** The per-element walk over `aIndex` (any lowering, causal structure included): the reference. */
/** What each operand's support lets the lanes do: skip its zeros, or at least see them (gating). */
function supportFlags(policy: OperandPolicy) {
  return {
    aSkip: policy.aSupport === 'skip',
    aSees: policy.aSupport !== 'none',
    bSkip: policy.bSupport === 'skip',
    bSees: policy.bSupport !== 'none',
    structSkip: policy.structuralSkip,
  };
}

export function prepareByIndex(
  low: LoweredSparseLayer,
  instance: number,
  aMask: Uint8Array,
  bMask: Uint8Array,
  policy: OperandPolicy,
  preparedB?: PreparedB,
): PreparedInstance {
  const { m: M, n: N, k: K } = low.gemm;
  const { aSkip, aSees, bSkip, bSees, structSkip } = supportFlags(policy);
  const outCausal = low.outputCausal && structSkip;
  const flow = policy.dataflow;
  const pb = preparedB ?? prepareB(low, instance, bMask, policy);
  const { bAct, bNz } = pb;

  // A timing bits in the orientation the dataflow streams or holds them.
  const aBase = instance * low.aInstanceStride;
  const aIndex = low.aIndex;
  const needA = aSkip || (structSkip && (low.operandCausal || low.hasPadding));
  const aBits = needA ? (flow === 'os' ? createBitMatrix(M, K) : createBitMatrix(K, M)) : null;

  let executed = 0;
  let useful = 0;
  let zeroA = 0;
  let zeroB = 0;
  let structural = 0;
  // Without causal outputs every (m, k) meets the same B row: count A per k, multiply once at the end.
  const aOkPerK = new Float64Array(K);
  const usefulPerK = new Float64Array(K);
  const aWords = aBits ? aBits.words : null;
  const wpr = aBits ? aBits.wordsPerRow : 0;
  const os = flow === 'os';
  const colWord = aBits && !os ? new Int32Array(K) : null;
  const operandCausal = low.operandCausal;
  for (let mm = 0; mm < M; mm++) {
    const allowed = outCausal ? Math.min(mm + 1, N) : N;
    structural += (N - allowed) * K;
    const row = mm * K;
    let acc = 0;
    for (let kk = 0; kk < K; kk++) {
      const idx = aIndex[row + kk]!;
      const struct = idx < 0 || (operandCausal && kk > mm);
      let nonzero = 0;
      if (!struct) {
        const bit = aBase + idx;
        nonzero = (aMask[bit >>> 3]! >>> (bit & 7)) & 1;
      }
      let aTiming: number;
      if (struct && structSkip) {
        structural += allowed;
        aTiming = 0;
      } else {
        aTiming = aSkip ? nonzero : 1;
        if (aTiming === 0) {
          zeroA += allowed;
        } else if (!outCausal) {
          aOkPerK[kk]!++;
          if (!aSees || nonzero) usefulPerK[kk]!++;
        } else {
          const bNonzero = rowCount(bAct, kk, 0, allowed);
          const bOk = bSkip ? bNonzero : allowed;
          executed += bOk;
          zeroB += allowed - bOk;
          if (!aSees || nonzero) useful += bSees ? bNonzero : allowed;
        }
      }
      if (aWords) {
        if (os) {
          acc |= aTiming << (kk & 31);
          if ((kk & 31) === 31 || kk === K - 1) {
            aWords[mm * wpr + (kk >>> 5)] = acc >>> 0;
            acc = 0;
          }
        } else {
          colWord![kk]! |= aTiming << (mm & 31);
        }
      }
    }
    if (colWord && ((mm & 31) === 31 || mm === M - 1)) {
      const word = mm >>> 5;
      for (let kk = 0; kk < K; kk++) {
        aWords![kk * wpr + word] = colWord[kk]! >>> 0;
        colWord[kk] = 0;
      }
    }
  }
  if (!outCausal) {
    for (let kk = 0; kk < K; kk++) {
      const bOk = bSkip ? bNz[kk]! : N;
      executed += aOkPerK[kk]! * bOk;
      zeroB += aOkPerK[kk]! * (N - bOk);
      useful += usefulPerK[kk]! * (bSees ? bNz[kk]! : N);
    }
  }
  const counts: MacCounts = { macs: M * N * K, executed, gated: executed - useful, zeroA, zeroB, structural };
  return { lanes: laneOperands(low, flow, aBits, pb), counts };
}

/** The lane operands of one instance from its A timing bits (oriented for the dataflow) and B side. */
function laneOperands(
  low: LoweredSparseLayer,
  flow: Dataflow,
  aBits: BitMatrix | null,
  pb: PreparedB,
): LaneOperands {
  const roles = DATAFLOW_ROLES[flow];
  const size = low.gemm;
  const spatialRows = size[roles.rows];
  const spatialCols = size[roles.cols];
  const temporal = size[roles.time];
  // One literal per case (no spread of a shared part): this runs for every instance of every step.
  if (flow === 'os')
    return { spatialRows, spatialCols, temporal, rowBits: aBits, colBits: pb.rowOrColBits, stat: pb.stat };
  if (flow === 'ws')
    return { spatialRows, spatialCols, temporal, rowBits: aBits, colBits: pb.colBits, stat: pb.stat };
  return { spatialRows, spatialCols, temporal, rowBits: pb.rowOrColBits, colBits: pb.colBits, stat: aBits };
}

/**
 * Per-layer state reused by every step and instance (one per layer replay): how A rows gather from
 * the input (whole 32-bit words when possible), the non-structural entries per k, the timing bits of
 * a data-independent A operand, and scratch matrices. The lanes `prepareInstance` returns with a
 * cache point into its scratch: they are valid until the next call with the same cache.
 */
export interface OperandCache {
  readonly low: LoweredSparseLayer;
  plan: GatherPlan | undefined;
  /** Non-structural (non-padding) A entries of each column k. */
  validPerK: Float64Array | undefined;
  /** Timing bits of an A the array does not skip on but whose padding it does, per orientation. */
  validBits: { os?: BitMatrix; km?: BitMatrix } | undefined;
  gathered: BitMatrix | undefined;
  transposed: BitMatrix | undefined;
  nonzeroPerK: Float64Array | undefined;
  /** An aligned copy of a mask whose bytes do not start on a 4-byte boundary. */
  alignedWords: Uint32Array | undefined;
  /** The instance's MAC counts (`countMacs`): a scratch, so no step boxes its sums. */
  readonly sums: Float64Array;
}

export function createOperandCache(low: LoweredSparseLayer): OperandCache {
  // Every field from the start: one object shape for every layer, so the optimised step code that
  // reads it is never thrown away when the next layer's cache arrives.
  return {
    low,
    plan: undefined,
    validPerK: undefined,
    validBits: undefined,
    gathered: undefined,
    transposed: undefined,
    nonzeroPerK: undefined,
    alignedWords: undefined,
    sums: new Float64Array(COUNT_FIELDS),
  };
}

/**
 * How row m of the A operand is read from the input. `words`: the row is `taps` runs of
 * `wordsPerTap` whole 32-bit words starting at input word `tapWord[m·taps + t]` (−1: padding), which
 * holds when the channels of a conv tap (or a whole dense row) are a multiple of 32 and so start on a
 * word boundary. `bits`: one bit per entry through `aIndex`.
 */
type GatherPlan =
  | {
      readonly kind: 'words';
      readonly taps: number;
      readonly wordsPerTap: number;
      readonly tapWord: Int32Array;
      readonly instanceWords: number;
    }
  | {
      readonly kind: 'runs';
      /**
       * Row m is the runs `runStart[m] ≤ j < runStart[m + 1]`: `runLength[j]` bits of the input from
       * bit `runSource[j]` (plus the instance's offset) to row bit `runTarget[j]`; every other bit of
       * the row is padding (0). Adjacent taps that are adjacent in the input merge into one run.
       */
      readonly runStart: Int32Array;
      readonly runSource: Int32Array;
      readonly runTarget: Int32Array;
      readonly runLength: Int32Array;
      readonly instanceBits: number;
    }
  | { readonly kind: 'bits' };

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function gatherPlan(low: LoweredSparseLayer): GatherPlan {
  const spec = low.spec;
  const { m: M, k: K } = low.gemm;
  if (!LITTLE_ENDIAN || spec.op === 'depthwise') return { kind: 'bits' };
  if (K % 32 !== 0 || low.aInstanceStride % 32 !== 0) return runsPlan(low);
  if (spec.op === 'conv2d') {
    const [h, w, c] = spec.inputShape as [number, number, number];
    if (c % 32 !== 0) return runsPlan(low);
    const [fh, fw] = spec.kernel ?? [1, 1];
    const [sh, sw] = spec.stride ?? [1, 1];
    const [pt, , pl] = spec.padding ?? [0, 0, 0, 0];
    const [dh, dw] = spec.dilation ?? [1, 1];
    const wo = outputWidth(spec);
    const ho = M / wo;
    const taps = fh * fw;
    const tapWord = new Int32Array(M * taps);
    for (let oh = 0; oh < ho; oh++) {
      for (let ow = 0; ow < wo; ow++) {
        const base = (oh * wo + ow) * taps;
        for (let y = 0; y < fh; y++) {
          const ih = oh * sh - pt + y * dh;
          for (let x = 0; x < fw; x++) {
            const iw = ow * sw - pl + x * dw;
            const inside = ih >= 0 && ih < h && iw >= 0 && iw < w;
            tapWord[base + y * fw + x] = inside ? ((ih * w + iw) * c) / 32 : -1;
          }
        }
      }
    }
    return { kind: 'words', taps, wordsPerTap: c / 32, tapWord, instanceWords: 0 };
  }
  // Every other lowering reads row m as input elements [m·K, (m + 1)·K) of its instance.
  const tapWord = new Int32Array(M);
  for (let m = 0; m < M; m++) tapWord[m] = (m * K) / 32;
  return { kind: 'words', taps: 1, wordsPerTap: K / 32, tapWord, instanceWords: low.aInstanceStride / 32 };
}

/**
 * The run plan of any lowering but depthwise: row m of a conv2d is, per kernel row y and tap x, the
 * C channel bits of one input pixel (runs of whole kernel rows when the taps are adjacent in the
 * input); every other lowering reads row m as input bits [m·K, (m + 1)·K) of its instance. Built
 * from the geometry, without the M·K index.
 */
function runsPlan(low: LoweredSparseLayer): GatherPlan {
  const spec = low.spec;
  const { m: M, k: K } = low.gemm;
  const runStart = new Int32Array(M + 1);
  const source: number[] = [];
  const target: number[] = [];
  const length: number[] = [];
  // First run of the row being built: runs merge only within a row.
  let currentStart = 0;
  const add = (src: number, dst: number, len: number): void => {
    const last = length.length - 1;
    if (
      last >= currentStart &&
      source[last]! + length[last]! === src &&
      target[last]! + length[last]! === dst
    ) {
      length[last]! += len;
    } else {
      source.push(src);
      target.push(dst);
      length.push(len);
    }
  };
  if (spec.op === 'conv2d') {
    const [h, w, c] = spec.inputShape as [number, number, number];
    const [fh, fw] = spec.kernel ?? [1, 1];
    const [sh, sw] = spec.stride ?? [1, 1];
    const [pt, , pl] = spec.padding ?? [0, 0, 0, 0];
    const [dh, dw] = spec.dilation ?? [1, 1];
    const wo = outputWidth(spec);
    for (let m = 0; m < M; m++) {
      runStart[m] = currentStart = length.length;
      const oh = Math.floor(m / wo);
      const ow = m - oh * wo;
      for (let y = 0; y < fh; y++) {
        const ih = oh * sh - pt + y * dh;
        if (ih < 0 || ih >= h) continue;
        for (let x = 0; x < fw; x++) {
          const iw = ow * sw - pl + x * dw;
          if (iw >= 0 && iw < w) add((ih * w + iw) * c, (y * fw + x) * c, c);
        }
      }
    }
  } else {
    for (let m = 0; m < M; m++) {
      runStart[m] = currentStart = length.length;
      add(m * K, 0, K);
    }
  }
  runStart[M] = length.length;
  return {
    kind: 'runs',
    runStart,
    runSource: Int32Array.from(source),
    runTarget: Int32Array.from(target),
    runLength: Int32Array.from(length),
    instanceBits: low.aInstanceStride,
  };
}

/** Output width of a conv (the lowering checked the geometry). */
function outputWidth(spec: LoweredSparseLayer['spec']): number {
  const w = spec.inputShape[1]!;
  const [, fw] = spec.kernel ?? [1, 1];
  const [, sw] = spec.stride ?? [1, 1];
  const [, , pl, pr] = spec.padding ?? [0, 0, 0, 0];
  const [, dw] = spec.dilation ?? [1, 1];
  return Math.floor((w + pl + pr - dw * (fw - 1) - 1) / sw) + 1;
}

function validPerK(cache: OperandCache, plan: GatherPlan): Float64Array {
  if (cache.validPerK) return cache.validPerK;
  const low = cache.low;
  const { m: M, k: K } = low.gemm;
  const out = new Float64Array(K);
  if (plan.kind === 'words') {
    const { taps, wordsPerTap, tapWord } = plan;
    const perTap = new Float64Array(taps);
    for (let i = 0; i < M * taps; i++) if (tapWord[i]! >= 0) perTap[i % taps]!++;
    const perTapK = wordsPerTap * 32;
    for (let kk = 0; kk < K; kk++) out[kk] = perTap[Math.floor(kk / perTapK)]!;
  } else if (plan.kind === 'runs') {
    // Each run covers row bits [target, target + length): count the cover per k by differences.
    const diff = new Float64Array(K + 1);
    for (let j = 0; j < plan.runLength.length; j++) {
      diff[plan.runTarget[j]!]!++;
      diff[plan.runTarget[j]! + plan.runLength[j]!]!--;
    }
    let cover = 0;
    for (let kk = 0; kk < K; kk++) {
      cover += diff[kk]!;
      out[kk] = cover;
    }
  } else {
    const aIndex = low.aIndex;
    for (let mm = 0; mm < M; mm++) {
      const row = mm * K;
      for (let kk = 0; kk < K; kk++) if (aIndex[row + kk]! >= 0) out[kk]!++;
    }
  }
  cache.validPerK = out;
  return out;
}

/**
 * Fills `dst` (M × K) with A's bits gathered from the input: entry (m, k) is the mask bit A(m, k)
 * reads, 0 on padding; with `mask` null, 1 wherever A is not padding.
 */
function gatherRows(
  low: LoweredSparseLayer,
  plan: GatherPlan,
  instance: number,
  maskWords: Uint32Array | null,
  mask: Uint8Array | null,
  dst: BitMatrix,
): void {
  const { m: M, k: K } = low.gemm;
  const out = dst.words;
  const wpr = dst.wordsPerRow;
  if (plan.kind === 'words') {
    const { taps, wordsPerTap, tapWord } = plan;
    const instanceBase = instance * plan.instanceWords;
    for (let mm = 0; mm < M; mm++) {
      let d = mm * wpr;
      for (let t = 0; t < taps; t++) {
        const src = tapWord[mm * taps + t]!;
        if (src < 0) {
          for (let j = 0; j < wordsPerTap; j++) out[d++] = 0;
        } else if (maskWords) {
          const s = instanceBase + src;
          for (let j = 0; j < wordsPerTap; j++) out[d++] = maskWords[s + j]!;
        } else {
          for (let j = 0; j < wordsPerTap; j++) out[d++] = 0xffffffff;
        }
      }
    }
    return;
  }
  if (plan.kind === 'runs') {
    gatherRuns(plan, instance, maskWords, dst);
    return;
  }
  const aIndex = low.aIndex;
  const aBase = instance * low.aInstanceStride;
  for (let mm = 0; mm < M; mm++) {
    const row = mm * K;
    let d = mm * wpr;
    let acc = 0;
    for (let kk = 0; kk < K; kk++) {
      const idx = aIndex[row + kk]!;
      // No branch on the data: a padding entry (idx < 0) reads bit aBase and is masked off.
      const valid = ~idx >>> 31;
      const bit = aBase + (idx & ~(idx >> 31));
      const value = mask ? (mask[bit >>> 3]! >>> (bit & 7)) & valid : valid;
      acc |= value << (kk & 31);
      if ((kk & 31) === 31) {
        out[d++] = acc >>> 0;
        acc = 0;
      }
    }
    if ((K & 31) !== 0) out[d] = acc >>> 0;
  }
}

/**
 * `gatherRows` for a run plan: each run is copied up to 32 bits per step (read across two source
 * words, written across two row words); `maskWords` null writes ones (the padding pattern).
 * `maskWords` has a zero word past the mask (`maskAsPaddedWords`), so no read leaves it.
 */
function gatherRuns(
  plan: Extract<GatherPlan, { kind: 'runs' }>,
  instance: number,
  maskWords: Uint32Array | null,
  dst: BitMatrix,
): void {
  const out = dst.words;
  const wpr = dst.wordsPerRow;
  out.fill(0);
  const { runStart, runSource, runTarget, runLength } = plan;
  const base = instance * plan.instanceBits;
  const rows = runStart.length - 1;
  for (let mm = 0; mm < rows; mm++) {
    const rowWord = mm * wpr;
    for (let j = runStart[mm]!; j < runStart[mm + 1]!; j++) {
      let src = base + runSource[j]!;
      let at = runTarget[j]!;
      let left = runLength[j]!;
      while (left > 0) {
        const n = Math.min(left, 32);
        let v: number;
        if (maskWords) {
          const i = src >>> 5;
          const o = src & 31;
          v = o === 0 ? maskWords[i]! : (maskWords[i]! >>> o) | (maskWords[i + 1]! << (32 - o));
        } else {
          v = 0xffffffff;
        }
        if (n < 32) v &= (1 << n) - 1;
        const d = rowWord + (at >>> 5);
        const o = at & 31;
        out[d] = (out[d]! | (v << o)) >>> 0;
        if (o + n > 32) out[d + 1] = (out[d + 1]! | (v >>> (32 - o))) >>> 0;
        src += n;
        at += n;
        left -= n;
      }
    }
  }
}

/** The mask as 32-bit words plus one zero word after it (a run may read one word past its end). */
function maskAsPaddedWords(cache: OperandCache, mask: Uint8Array): Uint32Array {
  const words = Math.ceil(mask.length / 4) + 1;
  if (!cache.alignedWords || cache.alignedWords.length < words) cache.alignedWords = new Uint32Array(words);
  const out = cache.alignedWords;
  const bytes = new Uint8Array(out.buffer, 0, words * 4);
  bytes.set(mask);
  bytes.fill(0, mask.length);
  return out;
}

/** The mask as 32-bit words (little-endian bit order is the packbits order), copied only if misaligned. */
function maskAsWords(cache: OperandCache, mask: Uint8Array): Uint32Array {
  const words = mask.length >>> 2;
  if (mask.byteOffset % 4 === 0) return new Uint32Array(mask.buffer, mask.byteOffset, words);
  if (!cache.alignedWords || cache.alignedWords.length < words) cache.alignedWords = new Uint32Array(words);
  const out = cache.alignedWords;
  new Uint8Array(out.buffer, 0, words * 4).set(mask.subarray(0, words * 4));
  return out;
}

function scratch(existing: BitMatrix | undefined, rows: number, cols: number): BitMatrix {
  return existing && existing.rows === rows && existing.cols === cols
    ? existing
    : createBitMatrix(rows, cols);
}

/**
 * `prepareInstance` without causal structure: A's bits are gathered row by row (whole words where
 * the plan allows), and every count comes from column counts of those bits, since each (m, k) meets
 * the same B row k: executed = Σ_k (A entries that run at k) · (B non-zeros of row k the array runs).
 */
function prepareGathered(
  low: LoweredSparseLayer,
  instance: number,
  aMask: Uint8Array,
  policy: OperandPolicy,
  pb: PreparedB,
  cache: OperandCache,
): PreparedInstance {
  const { m: M, n: N, k: K } = low.gemm;
  const { aSkip, aSees, bSkip, bSees, structSkip } = supportFlags(policy);
  const flow = policy.dataflow;
  const os = flow === 'os';
  cache.plan ??= gatherPlan(low);
  const plan = cache.plan;
  const valid = validPerK(cache, plan);

  let aBits: BitMatrix | null = null;
  let nonzero: Float64Array | null = null;
  if (aSkip || aSees) {
    cache.gathered = scratch(cache.gathered, M, K);
    const g = cache.gathered;
    const maskWords =
      plan.kind === 'words'
        ? maskAsWords(cache, aMask)
        : plan.kind === 'runs'
          ? maskAsPaddedWords(cache, aMask)
          : null;
    gatherRows(low, plan, instance, maskWords, aMask, g);
    cache.nonzeroPerK ??= new Float64Array(K);
    nonzero = cache.nonzeroPerK;
    if (os) {
      columnCounts(g, nonzero);
      if (aSkip) aBits = g;
    } else {
      cache.transposed = scratch(cache.transposed, K, M);
      transposeInto(g, cache.transposed);
      for (let kk = 0; kk < K; kk++) nonzero[kk] = rowTotal(cache.transposed, kk);
      if (aSkip) aBits = cache.transposed;
    }
  }
  if (!aSkip && structSkip && low.hasPadding) {
    // The array skips padding but not zeros: A's timing bits are the padding pattern, fixed per layer.
    cache.validBits ??= {};
    const key = os ? 'os' : 'km';
    let bits = cache.validBits[key];
    if (!bits) {
      const rows = createBitMatrix(M, K);
      gatherRows(low, plan, instance, null, null, rows);
      bits = os ? rows : transposeInto(rows, createBitMatrix(K, M));
      cache.validBits[key] = bits;
    }
    aBits = bits;
  }

  const sums = cache.sums;
  countMacs(M, N, K, valid, nonzero ?? valid, pb.bNz, aSkip, aSees, bSkip, bSees, structSkip, sums);
  const executed = sums[EXECUTED]!;
  const counts: MacCounts = {
    macs: M * N * K,
    executed,
    gated: executed - sums[USEFUL]!,
    zeroA: sums[ZERO_A]!,
    zeroB: sums[ZERO_B]!,
    structural: sums[STRUCTURAL]!,
  };
  return { lanes: laneOperands(low, flow, aBits, pb), counts };
}

const EXECUTED = 0;
const USEFUL = 1;
const ZERO_A = 2;
const ZERO_B = 3;
const STRUCTURAL = 4;
const COUNT_FIELDS = 5;

/**
 * The MAC counts of a non-causal instance into `out` (EXECUTED, USEFUL, ZERO_A, ZERO_B, STRUCTURAL),
 * since each (m, k) meets the same B row k: per k, the A entries that run times the B non-zeros the
 * array runs. Only typed arrays and numbers in and out: every layer calls it with the same types, so
 * it stays optimised and its sums stay unboxed (in unoptimised code every sum was a heap number, a
 * few per k per step). `nonzero` is read only when `aSkip` or `aSees`.
 */
function countMacs(
  M: number,
  N: number,
  K: number,
  valid: Float64Array,
  nonzero: Float64Array,
  bNz: Int32Array,
  aSkip: boolean,
  aSees: boolean,
  bSkip: boolean,
  bSees: boolean,
  structSkip: boolean,
  out: Float64Array,
): void {
  let executed = 0;
  let useful = 0;
  let zeroA = 0;
  let zeroB = 0;
  let structural = 0;
  for (let kk = 0; kk < K; kk++) {
    // Entries that may run at k: all M, or the non-padding ones when the array skips padding.
    const eligible = structSkip ? valid[kk]! : M;
    structural += (M - eligible) * N;
    const aOk = aSkip ? nonzero[kk]! : eligible;
    zeroA += (eligible - aOk) * N;
    const bOk = bSkip ? bNz[kk]! : N;
    executed += aOk * bOk;
    zeroB += aOk * (N - bOk);
    useful += (aSees ? nonzero[kk]! : eligible) * (bSees ? bNz[kk]! : N);
  }
  out[EXECUTED] = executed;
  out[USEFUL] = useful;
  out[ZERO_A] = zeroA;
  out[ZERO_B] = zeroB;
  out[STRUCTURAL] = structural;
}

/**
 * Transposes a 32 × 32 bit block in place (row r, bit c → row c, bit r; bits LSB first): five rounds
 * swapping ever smaller off-diagonal sub-blocks (Hacker's Delight, 7–3).
 */
export function transpose32(block: Uint32Array): void {
  let j = 16;
  let m = 0x0000ffff;
  while (j !== 0) {
    for (let k = 0; k < 32; k = (k + j + 1) & ~j) {
      const t = ((block[k]! >>> j) ^ block[k + j]!) & m;
      block[k] = (block[k]! ^ (t << j)) >>> 0;
      block[k + j] = (block[k + j]! ^ t) >>> 0;
    }
    j >>>= 1;
    m = (m ^ (m << j)) >>> 0;
  }
}

const BLOCK = new Uint32Array(32);

/** Loads the 32 × 32 block of `src` at row block rb, word column wc (rows past the end are zero). */
function loadBlock(src: BitMatrix, rb: number, wc: number): void {
  const r0 = rb * 32;
  const rows = Math.min(32, src.rows - r0);
  const w = src.words;
  const wpr = src.wordsPerRow;
  for (let r = 0; r < rows; r++) BLOCK[r] = w[(r0 + r) * wpr + wc]!;
  BLOCK.fill(0, rows);
  transpose32(BLOCK);
}

/** dst (src.cols × src.rows) = srcᵀ, by 32 × 32 blocks; every word of dst is written. */
export function transposeInto(src: BitMatrix, dst: BitMatrix): BitMatrix {
  const rowBlocks = Math.ceil(src.rows / 32);
  const dw = dst.words;
  const dwpr = dst.wordsPerRow;
  for (let rb = 0; rb < rowBlocks; rb++) {
    for (let wc = 0; wc < src.wordsPerRow; wc++) {
      loadBlock(src, rb, wc);
      const cols = Math.min(32, src.cols - wc * 32);
      for (let j = 0; j < cols; j++) dw[(wc * 32 + j) * dwpr + rb] = BLOCK[j]!;
    }
  }
  return dst;
}

/** out[c] = set bits of column c of `src`, by 32 × 32 block transposes. */
function columnCounts(src: BitMatrix, out: Float64Array): void {
  out.fill(0);
  const rowBlocks = Math.ceil(src.rows / 32);
  for (let rb = 0; rb < rowBlocks; rb++) {
    for (let wc = 0; wc < src.wordsPerRow; wc++) {
      loadBlock(src, rb, wc);
      const cols = Math.min(32, src.cols - wc * 32);
      for (let j = 0; j < cols; j++) out[wc * 32 + j]! += popcount32(BLOCK[j]!);
    }
  }
}

/** M × N matrix of outputs a causal mask keeps: (m, n) with n ≤ m. */
function causalAllowed(M: number, N: number): BitMatrix {
  const bm = createBitMatrix(M, N);
  for (let mm = 0; mm < M; mm++) {
    const upto = Math.min(mm + 1, N);
    for (let nn = 0; nn < upto; nn++) setBit(bm, mm, nn);
  }
  return bm;
}

export function transpose(bm: BitMatrix): BitMatrix {
  const out = createBitMatrix(bm.cols, bm.rows);
  const w = bm.words;
  for (let r = 0; r < bm.rows; r++) {
    const base = r * bm.wordsPerRow;
    for (let wi = 0; wi < bm.wordsPerRow; wi++) {
      let v = w[base + wi]!;
      while (v !== 0) {
        const bit = 31 - Math.clz32(v & -v);
        setBit(out, wi * 32 + bit, r);
        v = (v & (v - 1)) >>> 0;
      }
    }
  }
  return out;
}
