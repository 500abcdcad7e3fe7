import type { Dataflow } from '../array.js';
import { DATAFLOW_ROLES } from '../dataflow-mapping.js';
import type { OperandSupport } from '../hardware.js';
import { type BitMatrix, createBitMatrix, packedBit, rowCount, setBit } from './bits.js';
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
    for (let nn = 0; nn < N; nn++) if (packedBit(bMask, rowBase + nn * low.bColStride)) setBit(bAct, kk, nn);
  }
  const bNz = new Int32Array(K);
  for (let kk = 0; kk < K; kk++) bNz[kk] = rowCount(bAct, kk, 0, N);
  const bBits = policy.bSupport === 'skip' ? bAct : null;
  const outCausal = low.outputCausal && policy.structuralSkip;
  const flow = policy.dataflow;
  if (flow === 'os') {
    return {
      bAct,
      bNz,
      rowOrColBits: bBits ? transpose(bBits) : null,
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
): PreparedInstance {
  const { m: M, n: N, k: K } = low.gemm;
  const aSkip = policy.aSupport === 'skip';
  const aSees = policy.aSupport !== 'none';
  const bSkip = policy.bSupport === 'skip';
  const bSees = policy.bSupport !== 'none';
  const structSkip = policy.structuralSkip;
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

  const roles = DATAFLOW_ROLES[flow];
  const size = { m: M, n: N, k: K };
  const spatial = {
    spatialRows: size[roles.rows],
    spatialCols: size[roles.cols],
    temporal: size[roles.time],
  };
  let lanes: LaneOperands;
  if (flow === 'os') lanes = { ...spatial, rowBits: aBits, colBits: pb.rowOrColBits, stat: pb.stat };
  else if (flow === 'ws') lanes = { ...spatial, rowBits: aBits, colBits: pb.colBits, stat: pb.stat };
  else lanes = { ...spatial, rowBits: pb.rowOrColBits, colBits: pb.colBits, stat: aBits };
  return { lanes, counts };
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
