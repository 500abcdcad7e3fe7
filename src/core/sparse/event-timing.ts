import { type BitMatrix, getBit } from './bits.js';
import type { LoweredSparseLayer } from './layer-lowering.js';

/**
 * Work of an event-driven array (NeuronFlow-like, docs/model.md "Event-driven arrays"): every
 * non-zero input element is an event; the dispatcher sends it to the PEs that own the output
 * neurons it fans out to, and each PE runs the MACs of its own outputs. Output (instance i, m, n)
 * belongs to PE `(i·M·N + m·N + n) mod P` (neurons spread round-robin over the P = R·C PEs), so
 * the load imbalance is the one the real masks give. No folds, no fill or drain.
 */
export interface EventWork {
  /** MACs each PE runs this step. */
  readonly peWork: Float64Array;
  /** Σ of peWork (equals the executed MACs). */
  total: number;
}

export function createEventWork(pes: number): EventWork {
  return { peWork: new Float64Array(pes), total: 0 };
}

export interface EventInstanceInput {
  readonly low: LoweredSparseLayer;
  readonly instance: number;
  /** Packed A mask (input or Δ); undefined = all ones. */
  readonly aMask: Uint8Array | undefined;
  /** Zero A entries are not events (the array skips them). */
  readonly aSkip: boolean;
  /** B bits when zero weights are skipped; null = every B entry runs. */
  readonly bSkipBits: BitMatrix | null;
  readonly structuralSkip: boolean;
}

/** Adds one GEMM instance's MACs to the PEs that own its outputs. */
export function addEventInstance(work: EventWork, input: EventInstanceInput): void {
  const { low, instance, aMask, aSkip, bSkipBits, structuralSkip } = input;
  const { m: M, n: N, k: K } = low.gemm;
  const P = work.peWork.length;
  const outCausal = low.outputCausal && structuralSkip;
  const needIndex =
    (aSkip && aMask !== undefined) || (structuralSkip && (low.hasPadding || low.operandCausal));
  const aIndex = needIndex ? low.aIndex : undefined;
  const aBase = instance * low.aInstanceStride;
  const offset = instance * M * N;
  const counts = bSkipBits ? new Float64Array(N) : undefined;
  for (let m = 0; m < M; m++) {
    const allowed = outCausal ? Math.min(m + 1, N) : N;
    let rowCount = 0;
    counts?.fill(0);
    for (let k = 0; k < K; k++) {
      if (aIndex) {
        const idx = aIndex[m * K + k]!;
        const struct = idx < 0 || (low.operandCausal && k > m);
        if (struct && structuralSkip) continue;
        // A structural zero that is not skipped runs like any MAC (only arrays that skip nothing keep them).
        if (aSkip && aMask !== undefined && !struct) {
          const bit = aBase + idx;
          if (((aMask[bit >>> 3]! >>> (bit & 7)) & 1) === 0) continue;
        }
      }
      rowCount++;
      if (counts && bSkipBits) for (let n = 0; n < allowed; n++) if (getBit(bSkipBits, k, n)) counts[n]!++;
    }
    if (rowCount === 0) continue;
    const first = offset + m * N;
    if (counts) {
      for (let n = 0; n < allowed; n++) {
        const c = counts[n]!;
        if (c > 0) {
          work.peWork[(first + n) % P]! += c;
          work.total += c;
        }
      }
      continue;
    }
    // Every allowed output of row m runs rowCount MACs: whole rounds over the PEs, then the rest.
    const rounds = Math.floor(allowed / P);
    if (rounds > 0) for (let p = 0; p < P; p++) work.peWork[p]! += rounds * rowCount;
    const rest = allowed - rounds * P;
    for (let j = 0; j < rest; j++) work.peWork[(first + rounds * P + j) % P]! += rowCount;
    work.total += allowed * rowCount;
  }
}

/**
 * Cycles of one step: the busiest PE's MACs, or the dispatcher's `events × dispatchCycles` when
 * that is longer (dispatch overlaps with the PEs' work).
 */
export function eventCycles(work: EventWork, events: number, dispatchCyclesPerEvent: number): number {
  let busiest = 0;
  for (const w of work.peWork) if (w > busiest) busiest = w;
  if (busiest === 0) return 0;
  return Math.max(busiest, Math.ceil(events * dispatchCyclesPerEvent));
}

/** PE work / busiest PE, binned as the lane histogram (laneWorkHistogram). */
export function addEventHistogram(histogram: number[], work: EventWork): void {
  const bins = histogram.length;
  if (bins === 0) return;
  let busiest = 0;
  for (const w of work.peWork) if (w > busiest) busiest = w;
  for (const w of work.peWork) {
    const share = busiest > 0 ? w / busiest : 0;
    const bin = Math.min(bins - 1, Math.floor(share * bins));
    histogram[bin] = (histogram[bin] ?? 0) + 1;
  }
}
