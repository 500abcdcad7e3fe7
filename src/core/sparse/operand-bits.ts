import type { Dataflow } from '../array.js';
import { DATAFLOW_ROLES } from '../dataflow-mapping.js';
import type { OperandSupport } from '../hardware.js';
import { gatherInKernel, transposeInKernel } from './bit-matrix-kernel.js';
import {
  type BitMatrix,
  createBitMatrix,
  extractBits,
  packedBit,
  packedPopcount,
  rowCount,
  rowTotal,
  setBit,
} from './bits.js';
import type { LoweredSparseLayer } from './layer-lowering.js';
import {
  gatherByIndex,
  gatherWindows,
  LITTLE_ENDIAN,
  type RowGather,
  rowGather,
  validPerK,
} from './row-gather.js';

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
 * What one instance's B operand contributes, reusable across steps when B is a static weight. One
 * class (one hidden shape for every layer); the per-row non-zeros are counted on first use, since
 * counts taken from the lane work (`executedIsLaneWork`) never read them.
 */
export class PreparedB {
  #bNz: Int32Array | null = null;
  #bAct: BitMatrix | null;

  constructor(
    /** B as K × N rows; null: built on first use from `rowOrColBits` (Bᵀ, output-stationary). */
    bAct: BitMatrix | null,
    readonly rowOrColBits: BitMatrix | null,
    readonly stat: BitMatrix | null,
    readonly colBits: BitMatrix | null,
  ) {
    this.#bAct = bAct;
  }

  /** B's activity bits, K × N. */
  get bAct(): BitMatrix {
    if (!this.#bAct) {
      const bt = this.rowOrColBits!;
      this.#bAct = transposeInto(bt, createBitMatrix(bt.cols, bt.rows));
    }
    return this.#bAct;
  }

  /** Non-zeros of each B row k. */
  get bNz(): Int32Array {
    if (!this.#bNz) {
      const bAct = this.#bAct;
      if (bAct) {
        const bNz = new Int32Array(bAct.rows);
        for (let kk = 0; kk < bAct.rows; kk++) bNz[kk] = rowTotal(bAct, kk);
        this.#bNz = bNz;
      } else {
        // Row k of B is column k of Bᵀ: counted down the columns, no transpose back.
        const bt = this.rowOrColBits!;
        const counts = new Float64Array(bt.cols);
        columnCounts(bt, counts);
        this.#bNz = Int32Array.from(counts);
      }
    }
    return this.#bNz;
  }
}

/**
 * B's K × N bits read in place from the mask as 32-bit words (no copy), when rows are whole words
 * back to back as a BitMatrix stores them and the bytes are 4-aligned; undefined otherwise.
 */
function maskAsRows(low: LoweredSparseLayer, instance: number, bMask: Uint8Array): BitMatrix | undefined {
  const { n: N, k: K } = low.gemm;
  const bBase = instance * low.bInstanceStride;
  const from = bMask.byteOffset + (bBase >>> 3);
  const words = K * (N >>> 5);
  if (
    !LITTLE_ENDIAN ||
    low.bColStride !== 1 ||
    low.bRowStride !== N ||
    ((N | bBase) & 31) !== 0 ||
    (from & 3) !== 0 ||
    (bBase >>> 3) + words * 4 > bMask.length
  )
    return undefined;
  return { rows: K, cols: N, wordsPerRow: N >>> 5, words: new Uint32Array(bMask.buffer, from, words) };
}

export function prepareB(
  low: LoweredSparseLayer,
  instance: number,
  bMask: Uint8Array,
  policy: OperandPolicy,
): PreparedB {
  const { m: M, n: N, k: K } = low.gemm;
  const outCausal = low.outputCausal && policy.structuralSkip;
  // An output-stationary array that skips zero B streams Bᵀ: transposed straight from the mask.
  const inPlace =
    policy.dataflow === 'os' && policy.bSupport === 'skip' ? maskAsRows(low, instance, bMask) : undefined;
  if (inPlace) {
    const bt = transposeInto(inPlace, createBitMatrix(N, K));
    return new PreparedB(null, bt, outCausal ? causalAllowed(M, N) : null, null);
  }
  const bAct = createBitMatrix(K, N);
  const bBase = instance * low.bInstanceStride;
  if (LITTLE_ENDIAN && low.bColStride === 1 && low.bRowStride === N && ((N | bBase) & 31) === 0) {
    // Rows of whole words back to back, as bAct stores them: one byte copy (past the mask: zeros).
    const from = bBase >>> 3;
    new Uint8Array(bAct.words.buffer).set(bMask.subarray(from, Math.min(bMask.length, from + K * (N >>> 3))));
  } else {
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
  }
  const bBits = policy.bSupport === 'skip' ? bAct : null;
  const flow = policy.dataflow;
  if (flow === 'os') {
    const rowOrColBits = bBits ? transposeInto(bBits, createBitMatrix(N, K)) : null;
    return new PreparedB(bAct, rowOrColBits, outCausal ? causalAllowed(M, N) : null, null);
  }
  // ws: (n, m) allowed iff m ≥ n.
  if (flow === 'ws')
    return new PreparedB(bAct, null, bBits, outCausal ? transpose(causalAllowed(M, N)) : null);
  return new PreparedB(bAct, bBits, null, outCausal ? causalAllowed(M, N) : null);
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
  executedFromLanes = false,
): PreparedInstance {
  // Causal structure varies along k per row: only the per-element walk handles it.
  if (low.outputCausal || low.operandCausal)
    return prepareByIndex(low, instance, aMask, bMask, policy, preparedB);
  const pb = preparedB ?? prepareB(low, instance, bMask, policy);
  const c = cache ?? createOperandCache(low);
  return prepareGathered(low, instance, aMask, policy, pb, c, executedFromLanes);
}

/**
 * Whether `prepareInstance` may leave the executed MACs to the lane work (its `executedFromLanes`):
 * an output-stationary array that skips the zeros of both operands, with no causal structure, runs
 * MAC (m, n, k) iff A(m, k) and B(k, n) are both non-zero, so Σ over lanes of popcount(A row m AND
 * B column n) — the element lane timing's `laneWork` — is Σ_k (A non-zeros of column k) · (B
 * non-zeros of row k), the executed MACs, and the per-k column counts of A need not be taken.
 * The counts then hold executed = 0, gated = 0 and zeroB = N · (A non-zeros): the caller adds the
 * instance's lane work to executed and takes it from zeroB.
 */
export function executedIsLaneWork(low: LoweredSparseLayer, policy: OperandPolicy): boolean {
  return (
    policy.dataflow === 'os' &&
    policy.aSupport === 'skip' &&
    policy.bSupport === 'skip' &&
    !low.outputCausal &&
    !low.operandCausal
  );
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
 * the input, the non-structural entries per k, the timing bits of a data-independent A operand, and
 * scratch matrices. The lanes `prepareInstance` returns with a cache point into its scratch: they
 * are valid until the next call with the same cache. A class whose fields are all set from the
 * start: one hidden shape for every layer, so the optimised step code that reads it is never thrown
 * away when the next layer's cache arrives.
 */
export class OperandCache {
  readonly gather: RowGather;
  /** Non-structural (non-padding) A entries of each column k (`validEntries`). */
  validPerK: Float64Array | null = null;
  /** Σ of validPerK (−1: not yet summed). */
  validTotal = -1;
  /** Timing bits of an A the array does not skip on but whose padding it does, per orientation. */
  validBitsOs: BitMatrix | null = null;
  validBitsKm: BitMatrix | null = null;
  gathered: BitMatrix | null = null;
  gatheredBytes: Uint8Array = new Uint8Array(0);
  transposed: BitMatrix | null = null;
  readonly nonzeroPerK: Float64Array;
  /** The instance's slice of the A mask as words (`maskWords`), and its bytes. */
  maskWords: Uint32Array = new Uint32Array(0);
  maskBytes: Uint8Array = new Uint8Array(0);
  /** The instance's MAC counts (`countMacs`): a scratch, so no step boxes its sums. */
  readonly sums = new Float64Array(COUNT_FIELDS);

  constructor(readonly low: LoweredSparseLayer) {
    this.gather = rowGather(low);
    this.nonzeroPerK = new Float64Array(low.gemm.k);
  }
}

export function createOperandCache(low: LoweredSparseLayer): OperandCache {
  return new OperandCache(low);
}

/**
 * Bits [from, from + bits) of a packed mask as 32-bit words in the cache's scratch, starting at the
 * word that holds bit `from` (so that bit is bit `from & 31` of word 0), with a zero word after the
 * last: one copy per instance-step, whatever the mask's byte alignment.
 */
function maskWords(cache: OperandCache, mask: Uint8Array, from: number, bits: number): Uint32Array {
  const firstByte = (from >>> 5) * 4;
  const endByte = Math.min(mask.length, Math.ceil((from + bits) / 8));
  const bytes = endByte - firstByte;
  const words = ((bytes + 3) >>> 2) + 1;
  if (cache.maskWords.length < words) {
    cache.maskWords = new Uint32Array(words);
    cache.maskBytes = new Uint8Array(cache.maskWords.buffer);
  }
  const view = cache.maskBytes;
  view.set(mask.subarray(firstByte, endByte));
  view.fill(0, bytes, words * 4);
  return cache.maskWords;
}

/**
 * A's rows of `instance` into `dst` (M × K); `mask` null: ones wherever A is not padding. Returns
 * the rows' set bits when `count` (else 0): the kernel counts them while they are in its memory.
 */
function gatherRows(
  cache: OperandCache,
  instance: number,
  mask: Uint8Array | null,
  dst: BitMatrix,
  count: boolean,
): number {
  const g = cache.gather;
  if (!g.windows) {
    gatherByIndex(cache.low, instance, mask, dst);
    return count ? gatheredPopcount(cache, dst) : 0;
  }
  const from = mask ? instance * g.instanceBits : 0;
  const inKernel = gatherInKernel(g, mask, from, dst, count);
  if (inKernel !== undefined) return inKernel;
  const bits = g.h * g.w * g.c;
  if (mask) {
    gatherWindows(g, from & 31, maskWords(cache, mask, from, bits), dst);
  } else {
    gatherWindows(g, 0, new Uint32Array(Math.ceil(bits / 32) + 1).fill(0xffffffff), dst);
  }
  return count ? gatheredPopcount(cache, dst) : 0;
}

/** Built on first use: a depthwise layer counts them through its M·K index. */
function validEntries(cache: OperandCache): Float64Array {
  cache.validPerK ??= validPerK(cache.low, cache.gather);
  return cache.validPerK;
}

/** Σ_k validEntries: the non-padding entries of A, once per layer. */
function eligibleEntries(cache: OperandCache): number {
  if (cache.validTotal < 0) {
    const valid = validEntries(cache);
    let total = 0;
    for (let kk = 0; kk < valid.length; kk++) total += valid[kk]!;
    cache.validTotal = total;
  }
  return cache.validTotal;
}

/** Set bits of the cache's gathered rows (bits past K are zero): in the kernel when it runs here. */
function gatheredPopcount(cache: OperandCache, g: BitMatrix): number {
  // A byte view kept with the scratch it sees: no view per instance-step.
  if (cache.gatheredBytes.buffer !== g.words.buffer)
    cache.gatheredBytes = new Uint8Array(g.words.buffer, g.words.byteOffset, g.words.length * 4);
  return packedPopcount(cache.gatheredBytes, cache.gatheredBytes.length * 8);
}

function scratch(existing: BitMatrix | null, rows: number, cols: number): BitMatrix {
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
  executedFromLanes: boolean,
): PreparedInstance {
  const { m: M, n: N, k: K } = low.gemm;
  const { aSkip, aSees, bSkip, bSees, structSkip } = supportFlags(policy);
  const flow = policy.dataflow;
  const os = flow === 'os';
  const valid = validEntries(cache);
  if (executedFromLanes && executedIsLaneWork(low, policy)) {
    cache.gathered = scratch(cache.gathered, M, K);
    const g = cache.gathered;
    const aNonzeros = gatherRows(cache, instance, aMask, g, true);
    const eligible = structSkip ? eligibleEntries(cache) : M * K;
    const counts: MacCounts = {
      macs: M * N * K,
      executed: 0,
      gated: 0,
      zeroA: (eligible - aNonzeros) * N,
      zeroB: aNonzeros * N,
      structural: (M * K - eligible) * N,
    };
    return { lanes: laneOperands(low, flow, g, pb), counts };
  }

  let aBits: BitMatrix | null = null;
  let nonzero: Float64Array | null = null;
  if (aSkip || aSees) {
    cache.gathered = scratch(cache.gathered, M, K);
    const g = cache.gathered;
    gatherRows(cache, instance, aMask, g, false);
    nonzero = cache.nonzeroPerK;
    if (os) {
      columnCounts(g, nonzero);
      if (aSkip) aBits = g;
    } else {
      cache.transposed = scratch(cache.transposed, K, M);
      transposeInto(g, cache.transposed);
      rowTotals(cache.transposed, nonzero);
      if (aSkip) aBits = cache.transposed;
    }
  }
  // The array skips padding but not zeros: A's timing bits are the padding pattern, fixed per layer.
  if (!aSkip && structSkip && low.hasPadding) aBits = paddingBits(cache, os);

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

/** A's timing bits when only its padding is skipped: built once per layer and orientation. */
function paddingBits(cache: OperandCache, os: boolean): BitMatrix {
  const existing = os ? cache.validBitsOs : cache.validBitsKm;
  if (existing) return existing;
  const { m: M, k: K } = cache.low.gemm;
  const rows = createBitMatrix(M, K);
  gatherRows(cache, 0, null, rows, false);
  if (os) {
    cache.validBitsOs = rows;
    return rows;
  }
  cache.validBitsKm = transposeInto(rows, createBitMatrix(K, M));
  return cache.validBitsKm;
}

/** out[r] = set bits of row r. */
function rowTotals(bm: BitMatrix, out: Float64Array): void {
  for (let r = 0; r < bm.rows; r++) out[r] = rowTotal(bm, r);
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

/** dst (src.cols × src.rows) = srcᵀ (in the count kernel when it runs here); every word of dst is written. */
export function transposeInto(src: BitMatrix, dst: BitMatrix): BitMatrix {
  return transposeInKernel(src, dst) ? dst : transposeBlocks(src, dst);
}

/** `transposeInto` in JavaScript, by 32 × 32 blocks (`transpose32`). */
export function transposeBlocks(src: BitMatrix, dst: BitMatrix): BitMatrix {
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

/**
 * out[c] = set bits of column c of `src`. Down each word column, 255 rows at a time, the rows are
 * added into eight bit-sliced counters (plane j holds bit j of every column's count: a ripple of
 * half adders, ~17 operations per word and no branch on the data), then each column's count is read
 * out of the planes: about half the work of a 32 × 32 transpose and 32 popcounts per block.
 */
export function columnCounts(src: BitMatrix, out: Float64Array): void {
  out.fill(0);
  const words = src.words;
  const wpr = src.wordsPerRow;
  const rows = src.rows;
  for (let wc = 0; wc < wpr; wc++) {
    const colBase = wc * 32;
    const cols = Math.min(32, src.cols - colBase);
    for (let r0 = 0; r0 < rows; r0 += 255) {
      const r1 = Math.min(rows, r0 + 255);
      let p0 = 0;
      let p1 = 0;
      let p2 = 0;
      let p3 = 0;
      let p4 = 0;
      let p5 = 0;
      let p6 = 0;
      let p7 = 0;
      for (let i = r0 * wpr + wc, end = r1 * wpr + wc; i < end; i += wpr) {
        let x = words[i]! | 0;
        let carry = p0 & x;
        p0 ^= x;
        x = carry;
        carry = p1 & x;
        p1 ^= x;
        x = carry;
        carry = p2 & x;
        p2 ^= x;
        x = carry;
        carry = p3 & x;
        p3 ^= x;
        x = carry;
        carry = p4 & x;
        p4 ^= x;
        x = carry;
        carry = p5 & x;
        p5 ^= x;
        x = carry;
        carry = p6 & x;
        p6 ^= x;
        p7 ^= carry;
      }
      for (let j = 0; j < cols; j++) {
        out[colBase + j]! +=
          ((p0 >>> j) & 1) |
          (((p1 >>> j) & 1) << 1) |
          (((p2 >>> j) & 1) << 2) |
          (((p3 >>> j) & 1) << 3) |
          (((p4 >>> j) & 1) << 4) |
          (((p5 >>> j) & 1) << 5) |
          (((p6 >>> j) & 1) << 6) |
          (((p7 >>> j) & 1) << 7);
      }
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
