import type { ArrayShape, Dataflow } from '../array.js';
import { ceilDiv } from '../ceil-div.js';
import type { FoldSequence } from '../fold-overlap.js';
import { cyclesPerFold } from '../fold-timing.js';
import type { SkipGranularity } from '../hardware.js';
import { andCount, andTotal, type BitMatrix, popcount32, rowCount, rowTotal } from './bits.js';
import { type LoadedLanes, loadLanes } from './lane-fold-kernel.js';
import type { LaneOperands } from './operand-bits.js';

export interface LaneTimingOptions {
  readonly array: ArrayShape;
  readonly dataflow: Dataflow;
  readonly granularity: SkipGranularity;
  /** Dense steps between lane resynchronisations (element granularity); Infinity = never. */
  readonly lookaheadSteps: number;
  /** Bins of the lane-work histogram (0 = do not measure). */
  readonly histogramBins?: number;
  /** Receives every fold's effective stream in run order (row folds outer), for overlapped timing. */
  readonly sequence?: FoldSequence;
}

export interface LaneTiming {
  readonly folds: number;
  /** Σ over folds of cyclesPerFold(effective stream); a fold with no work costs 0. */
  readonly cycles: number;
  /** Σ over folds of the effective stream length. */
  readonly streamSteps: number;
  /** Σ over lanes of their work (element granularity only; equals the executed MACs). */
  readonly laneWork: number;
  /** Lane work / busiest lane of its fold, binned (element granularity, when asked). */
  readonly histogram: readonly number[];
}

/**
 * Per fold, per lane work from the operand bits (no per-MAC loop: AND + popcount over 32-bit words):
 * - element: fold stream = Σ over windows of `lookaheadSteps` dense steps of the busiest lane's
 *   work in that window (lanes run ahead independently inside a window, then wait for each other);
 * - vector: a step counts iff the OR of the row operands entering at that step and the OR of the
 *   column operands are both non-zero (a zero-detect on each incoming vector);
 * - fold: the whole stream T, unless the vector rule finds no step at all.
 * A fold whose stationary tile is entirely zero, or whose stream is empty, costs 0 cycles.
 */
export function laneTiming(ops: LaneOperands, options: LaneTimingOptions): LaneTiming {
  if (ops.rowBits === null && ops.colBits === null && ops.stat === null) return denseLaneTiming(ops, options);
  const { array, dataflow, granularity } = options;
  const T = ops.temporal;
  const rowFolds = ceilDiv(ops.spatialRows, array.rows);
  const colFolds = ceilDiv(ops.spatialCols, array.cols);
  const bins = options.histogramBins ?? 0;
  const histogram = new Array<number>(bins).fill(0);
  const window = Math.min(options.lookaheadSteps, T);
  let cycles = 0;
  let streamSteps = 0;
  let laneWork = 0;
  const loaded = granularity === 'element' ? kernelLanes(ops, window, array.cols) : undefined;
  // The whole fold schedule in one kernel call when it can: per fold stream and work, histogram.
  const all = loaded?.folds(ops.spatialRows, array.rows, array.cols, bins);
  if (all) {
    const { perFold } = all;
    for (let f = 0; f < rowFolds * colFolds; f++) {
      const stream = perFold[2 * f]!;
      laneWork += perFold[2 * f + 1]!;
      streamSteps += stream;
      options.sequence?.add(stream);
      if (stream > 0) cycles += cyclesPerFold(stream, array, dataflow);
    }
    for (let b = 0; b < bins; b++) histogram[b] = all.histogram[b]!;
    return { folds: rowFolds * colFolds, cycles, streamSteps, laneWork, histogram };
  }
  // Scratch of the fold-by-fold path only (the kernel's single call above needs none).
  const rowWork = new Float64Array(array.rows);
  const rowLanes = new Int32Array(array.rows);
  for (let rf = 0; rf < rowFolds; rf++) {
    const r0 = rf * array.rows;
    const r1 = Math.min(r0 + array.rows, ops.spatialRows);
    for (let cf = 0; cf < colFolds; cf++) {
      const c0 = cf * array.cols;
      const c1 = Math.min(c0 + array.cols, ops.spatialCols);
      let stream: number;
      if (granularity === 'element') {
        const fold = loaded
          ? kernelFold(loaded, r0, r1, c0, c1, bins > 0 ? histogram : null)
          : elementFold(ops, r0, r1, c0, c1, window, rowWork, rowLanes, bins > 0 ? histogram : null);
        stream = fold.stream;
        laneWork += fold.work;
      } else {
        const steps = vectorSteps(ops, r0, r1, c0, c1);
        stream = granularity === 'vector' ? steps : steps > 0 ? T : 0;
      }
      streamSteps += stream;
      options.sequence?.add(stream);
      if (stream > 0) cycles += cyclesPerFold(stream, array, dataflow);
    }
  }
  return { folds: rowFolds * colFolds, cycles, streamSteps, laneWork, histogram };
}

/**
 * Closed form of `laneTiming` when no operand has a zero the array can see (all three bit matrices
 * null = all ones): every lane works at every step, so under every granularity and look-ahead a
 * fold streams its whole temporal extent T (T ≥ 1) and costs `cyclesPerFold(T)`; element lane work
 * is lanes × T; every lane is its fold's busiest (the histogram's top bin). O(1) instead of a pass
 * over the folds' lanes; equal to the bit-level path with all-ones matrices (tested).
 */
export function denseLaneTiming(
  ops: Pick<LaneOperands, 'spatialRows' | 'spatialCols' | 'temporal'>,
  options: LaneTimingOptions,
): LaneTiming {
  const { array, dataflow } = options;
  const T = ops.temporal;
  const folds = ceilDiv(ops.spatialRows, array.rows) * ceilDiv(ops.spatialCols, array.cols);
  const bins = options.histogramBins ?? 0;
  const histogram = new Array<number>(bins).fill(0);
  const element = options.granularity === 'element';
  const lanes = ops.spatialRows * ops.spatialCols;
  if (element && bins > 0) histogram[bins - 1] = lanes;
  options.sequence?.add(T, folds);
  return {
    folds,
    cycles: T > 0 ? folds * cyclesPerFold(T, array, dataflow) : 0,
    streamSteps: folds * T,
    laneWork: element ? lanes * T : 0,
    histogram,
  };
}

/**
 * The general element case (every lane ANDs its row operand with its column operand, no stationary
 * mask) in the WebAssembly kernel, when it runs here and the windows fall on whole 64-bit units;
 * undefined otherwise (elementFold's JavaScript loops, the same counts).
 */
function kernelLanes(ops: LaneOperands, window: number, arrayCols: number): LoadedLanes | undefined {
  const T = ops.temporal;
  if (ops.colBits === null || ops.stat !== null) return undefined;
  const single = window >= T;
  if (!single && window % 32 !== 0) return undefined;
  // Four lanes a pass when every fold starts on a group of four columns.
  const kind = arrayCols % 4 === 0 ? 'quad' : 'pair';
  return single
    ? loadLanes(ops.rowBits, ops.colBits, ops.colBits.wordsPerRow, 1, kind)
    : loadLanes(ops.rowBits, ops.colBits, window / 32, ceilDiv(T, window), kind);
}

/** elementFold's general case from the kernel: the same stream, work and histogram. */
function kernelFold(
  loaded: LoadedLanes,
  r0: number,
  r1: number,
  c0: number,
  c1: number,
  histogram: number[] | null,
): { stream: number; work: number } {
  const { winMax, totals } = loaded.fold(r0, r1, c0, c1);
  let stream = 0;
  for (let w = 0; w < winMax.length; w++) stream += winMax[w]!;
  let work = 0;
  let busiest = 0;
  for (let i = 0; i < totals.length; i++) {
    const t = totals[i]!;
    work += t;
    if (t > busiest) busiest = t;
  }
  if (histogram) for (let i = 0; i < totals.length; i++) addToHistogram(histogram, totals[i]!, busiest, 1);
  return { stream, work };
}

/** How many columns c in [c0, c1) have stat(r, c) set (all of them when stat is null). */
function statCount(stat: BitMatrix | null, r: number, c0: number, c1: number): number {
  return stat ? rowCount(stat, r, c0, c1) : c1 - c0;
}

function elementFold(
  ops: LaneOperands,
  r0: number,
  r1: number,
  c0: number,
  c1: number,
  window: number,
  rowWork: Float64Array,
  rowLanes: Int32Array,
  histogram: number[] | null,
): { stream: number; work: number } {
  const T = ops.temporal;
  const { rowBits, colBits, stat } = ops;
  let stream = 0;
  let work = 0;
  if (colBits === null) {
    // A lane's work depends on its row only: count each row once, weight by its active lanes.
    let anyRow = false;
    for (let r = r0; r < r1; r++) {
      rowLanes[r - r0] = statCount(stat, r, c0, c1);
      if (rowLanes[r - r0]! > 0) anyRow = true;
    }
    if (!anyRow) return { stream: 0, work: 0 };
    for (let s = 0; s < T; s += window) {
      const e = Math.min(s + window, T);
      let max = 0;
      for (let r = r0; r < r1; r++) {
        if (rowLanes[r - r0] === 0) continue;
        const count = rowBits ? (e - s === T ? rowTotal(rowBits, r) : rowCount(rowBits, r, s, e)) : e - s;
        if (count > max) max = count;
      }
      stream += max;
    }
    let busiest = 0;
    for (let r = r0; r < r1; r++) {
      const lanes = rowLanes[r - r0]!;
      const total = lanes === 0 ? 0 : rowBits ? rowTotal(rowBits, r) : T;
      rowWork[r - r0] = total;
      work += total * lanes;
      if (lanes > 0 && total > busiest) busiest = total;
    }
    if (histogram) {
      for (let r = r0; r < r1; r++) {
        const lanes = rowLanes[r - r0]!;
        if (lanes > 0) addToHistogram(histogram, rowWork[r - r0]!, busiest, lanes);
      }
    }
    return { stream, work };
  }
  // General case: every (row, column) lane ANDs its row operand with its column operand.
  const single = window >= T;
  let busiest = 0;
  const laneTotals: number[] | null = histogram ? [] : null;
  if (single) {
    for (let r = r0; r < r1; r++) {
      for (let c = c0; c < c1; c++) {
        if (stat && !((stat.words[r * stat.wordsPerRow + (c >>> 5)]! >>> (c & 31)) & 1)) continue;
        const count = rowBits ? andTotal(rowBits, r, colBits, c) : rowTotal(colBits, c);
        work += count;
        if (count > busiest) busiest = count;
        laneTotals?.push(count);
      }
    }
    stream = busiest;
  } else {
    // One pass per lane: window sums, each window's busiest lane, and the lane's total.
    const windows = ceilDiv(T, window);
    const windowMax = new Float64Array(windows);
    const aligned = window % 32 === 0 && rowBits !== null;
    const wordsPerWindow = window / 32;
    for (let r = r0; r < r1; r++) {
      for (let c = c0; c < c1; c++) {
        if (stat && !((stat.words[r * stat.wordsPerRow + (c >>> 5)]! >>> (c & 31)) & 1)) continue;
        let total = 0;
        if (aligned) {
          const rw = rowBits!.words;
          const cw = colBits.words;
          const baseR = r * rowBits!.wordsPerRow;
          const baseC = c * colBits.wordsPerRow;
          const words = rowBits!.wordsPerRow;
          for (let w = 0, i = 0; w < windows; w++) {
            const end = Math.min(i + wordsPerWindow, words);
            let count = 0;
            for (; i < end; i++) {
              // No branch on v: at low density a zero test mispredicts more than it saves.
              count += popcount32(rw[baseR + i]! & cw[baseC + i]!);
            }
            if (count > windowMax[w]!) windowMax[w] = count;
            total += count;
          }
        } else {
          for (let w = 0; w < windows; w++) {
            const s = w * window;
            const e = Math.min(s + window, T);
            const count = rowBits ? andCount(rowBits, r, colBits, c, s, e) : rowCount(colBits, c, s, e);
            if (count > windowMax[w]!) windowMax[w] = count;
            total += count;
          }
        }
        work += total;
        if (total > busiest) busiest = total;
        laneTotals?.push(total);
      }
    }
    for (let w = 0; w < windows; w++) stream += windowMax[w]!;
  }
  if (histogram && laneTotals) for (const t of laneTotals) addToHistogram(histogram, t, busiest, 1);
  return { stream, work };
}

function addToHistogram(histogram: number[], work: number, busiest: number, lanes: number): void {
  const bins = histogram.length;
  const share = busiest > 0 ? work / busiest : 0;
  const bin = Math.min(bins - 1, Math.floor(share * bins));
  histogram[bin] = (histogram[bin] ?? 0) + lanes;
}

/** Steps at which both the incoming row-operand vector and column-operand vector have a non-zero. */
function vectorSteps(ops: LaneOperands, r0: number, r1: number, c0: number, c1: number): number {
  const { rowBits, colBits, stat } = ops;
  const T = ops.temporal;
  if (stat) {
    let any = false;
    for (let r = r0; r < r1 && !any; r++) any = rowCount(stat, r, c0, c1) > 0;
    if (!any) return 0;
  }
  const words = Math.max(1, ceilDiv(T, 32));
  const rowOr = orRows(rowBits, r0, r1, words);
  const colOr = orRows(colBits, c0, c1, words);
  if (!rowOr && !colOr) return T;
  // Padding bits past T are zero in every stored row, so a lone OR needs no end mask.
  let n = 0;
  for (let i = 0; i < words; i++) {
    if (rowOr && colOr) n += popcount32(rowOr[i]! & colOr[i]!);
    else n += popcount32((rowOr ?? colOr)![i]!);
  }
  return n;
}

function orRows(bm: BitMatrix | null, r0: number, r1: number, words: number): Uint32Array | null {
  if (!bm) return null;
  const out = new Uint32Array(words);
  for (let r = r0; r < r1; r++) {
    const base = r * bm.wordsPerRow;
    for (let i = 0; i < words; i++) out[i] = (out[i]! | bm.words[base + i]!) >>> 0;
  }
  return out;
}
