import type { ArrayShape, Dataflow } from './array.js';
import { cyclesPerFold } from './fold-timing.js';

/**
 * How consecutive folds of a layer share the array (docs/model.md, "Fold overlap"):
 * `none` — SCALE-Sim v2: each fold loads, skews in, streams and drains before the next starts;
 * `preload` — double-buffered stationary operand: the next fold's R-cycle preload (WS/IS) runs
 *   during the current fold's stream (OS has nothing stationary to preload: same as none);
 * `pipelined` — also the skew and drain of consecutive folds overlap: the array streams folds back
 *   to back and pays the fill/drain latency once.
 */
export type FoldOverlap = 'none' | 'preload' | 'pipelined';

export const FOLD_OVERLAPS: readonly FoldOverlap[] = ['none', 'preload', 'pipelined'];

/**
 * Accumulates the cycles of a sequence of folds (stream lengths in the order the array runs them).
 * A fold with stream 0 is never loaded and costs nothing. With F folds of streams T_1..T_F on an
 * R×C array:
 *
 * | overlap   | OS                                   | WS / IS                                          |
 * |-----------|--------------------------------------|--------------------------------------------------|
 * | none      | Σ (T_f + R + C − 2)                  | Σ (2R + C + T_f − 2)                             |
 * | preload   | as none                              | R + Σ (T_f + R + C − 2)                          |
 * | pipelined | Σ T_f + R + C − 2                    | R + Σ_{f<F} max(T_f, R) + T_F + R + C − 2        |
 *
 * Pipelined WS/IS: fold f+1's preload starts with fold f's stream and takes R cycles, so fold f+1
 * starts max(T_f, R) after fold f. Hence none ≥ preload ≥ pipelined, equal for a single fold
 * under OS and for none vs SCALE-Sim always.
 */
export interface FoldSequence {
  /** Adds `count` folds of stream `stream` (consecutive in run order). */
  add(stream: number, count?: number): void;
  readonly folds: number;
  cycles(): number;
  /** Empties the sequence (a layer reuses one sequence for every step). */
  reset(): void;
}

export function createFoldSequence(
  array: ArrayShape,
  dataflow: Dataflow,
  overlap: FoldOverlap,
): FoldSequence {
  return new OverlapSequence(array, dataflow, overlap);
}

/**
 * A class, not a literal of closures: every layer-step's laneTiming calls `add` per fold, and a
 * closure per layer was a new call target there each layer (a deopt of laneTiming, then a
 * recompile); prototype methods are one target for every sequence.
 */
class OverlapSequence implements FoldSequence {
  private readonly rows: number;
  private readonly latency: number;
  folds = 0;
  private none = 0;
  private streamSum = 0;
  // Pipelined WS/IS: Σ max(T_f, R) over every fold but the last, and the last fold's T.
  private spacedSum = 0;
  private last = 0;

  constructor(
    private readonly array: ArrayShape,
    private readonly dataflow: Dataflow,
    private readonly overlap: FoldOverlap,
  ) {
    this.rows = array.rows;
    this.latency = array.rows + array.cols - 2;
  }

  add(stream: number, count = 1): void {
    if (stream <= 0 || count <= 0) return;
    const R = this.rows;
    this.none += count * cyclesPerFold(stream, this.array, this.dataflow);
    this.streamSum += count * stream;
    if (this.folds > 0) this.spacedSum += Math.max(this.last, R);
    this.spacedSum += (count - 1) * Math.max(stream, R);
    this.last = stream;
    this.folds += count;
  }

  reset(): void {
    this.folds = 0;
    this.none = 0;
    this.streamSum = 0;
    this.spacedSum = 0;
    this.last = 0;
  }

  cycles(): number {
    const { folds, overlap, rows: R, latency } = this;
    if (folds === 0) return 0;
    if (overlap === 'none') return this.none;
    if (this.dataflow === 'os') return overlap === 'preload' ? this.none : this.streamSum + latency;
    if (overlap === 'preload') return R + this.streamSum + folds * latency;
    return R + this.spacedSum + this.last + latency;
  }
}
