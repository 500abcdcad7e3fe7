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
  const R = array.rows;
  const latency = R + array.cols - 2;
  let folds = 0;
  let none = 0;
  let streamSum = 0;
  // Pipelined WS/IS: Σ max(T_f, R) over every fold but the last, and the last fold's T.
  let spacedSum = 0;
  let last = 0;
  return {
    add(stream: number, count = 1): void {
      if (stream <= 0 || count <= 0) return;
      none += count * cyclesPerFold(stream, array, dataflow);
      streamSum += count * stream;
      if (folds > 0) spacedSum += Math.max(last, R);
      spacedSum += (count - 1) * Math.max(stream, R);
      last = stream;
      folds += count;
    },
    get folds(): number {
      return folds;
    },
    reset(): void {
      folds = 0;
      none = 0;
      streamSum = 0;
      spacedSum = 0;
      last = 0;
    },
    cycles(): number {
      if (folds === 0) return 0;
      if (overlap === 'none') return none;
      if (dataflow === 'os') return overlap === 'preload' ? none : streamSum + latency;
      if (overlap === 'preload') return R + streamSum + folds * latency;
      return R + spacedSum + last + latency;
    },
  };
}
