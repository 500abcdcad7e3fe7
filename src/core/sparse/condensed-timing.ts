import type { ArrayShape } from '../array.js';
import { cyclesPerFold } from '../fold-timing.js';
import { type BitMatrix, rowCount } from './bits.js';
import type { LaneOperands } from './operand-bits.js';

/**
 * A condensed outer-product datapath (docs/model.md, "Condensed outer-product datapaths"): the
 * array is split into units of `unit` multipliers (DSTC: one 8×16 tensor core; SCNN: 64 PEs of
 * 4×4). Each unit owns an output tile of `tileRows × tileCols` outputs in its accumulation buffer
 * and walks the reduction: at step k the non-zeros of A's column (over the tile's rows) and of B's
 * row (over the tile's columns) are condensed and dealt to the unit in whole passes of
 * `unit.rows × unit.cols`, so step k costs ⌈a_k / unit.rows⌉ · ⌈b_k / unit.cols⌉ cycles and a step
 * with no pair costs nothing. Every non-zero pair's product is scattered into the accumulation
 * buffer, which takes at most `accumulatePerCycle` of them per cycle, so a tile's stream lasts
 * max(its passes, ⌈its pairs / accumulatePerCycle⌉) cycles. Units work in lock step on the tiles of
 * one column group (an output-channel group) and meet at a barrier after each round of `units`
 * tiles: a round lasts as long as its busiest unit, plus the unit's fill and drain.
 */
export interface CondensedDatapath {
  readonly unit: ArrayShape;
  /** Output rows (M) per tile; Infinity = the M extent dealt evenly over the units (planar tiling). */
  readonly tileRows: number;
  /** Output columns (N) per tile; Infinity = all of N (one column group). */
  readonly tileCols: number;
  /**
   * Partial products the unit's accumulation buffer takes per cycle (the scatter of each pass's
   * products into the output tile); absent or Infinity = as many as the unit makes.
   */
  readonly accumulatePerCycle?: number;
}

/** Units of `unit` in `array`; 0 when they do not tile it exactly (a configuration error). */
export function condensedUnits(array: ArrayShape, cd: CondensedDatapath): number {
  const macs = array.rows * array.cols;
  const unitMacs = cd.unit.rows * cd.unit.cols;
  return macs % unitMacs === 0 ? macs / unitMacs : 0;
}

export interface CondensedTiming {
  /** Tiles with work (the condensed datapath's folds). */
  readonly folds: number;
  readonly cycles: number;
  /** Σ over rounds of the busiest unit's stream (cycles without fill and drain). */
  readonly passCycles: number;
  /** Σ over tiles of their streams: with passCycles, the load imbalance the barriers cost. */
  readonly tilePasses: number;
  /** Tiles whose stream the accumulation buffer sets (its pairs outlast its passes). */
  readonly accumulateBoundTiles: number;
  /** Unit passes / the round's busiest unit, binned (when asked). */
  readonly histogram: readonly number[];
}

/**
 * Times one GEMM instance on a condensed datapath from its output-stationary lane operands (rows =
 * M with A's bits over k, columns = N with B's bits over k, stat = outputs allowed; a null matrix
 * is all ones). Counts only, from the operand bits: O(M·K + N·K + tiles·K).
 */
export function condensedTiming(
  ops: LaneOperands,
  cd: CondensedDatapath,
  units: number,
  histogramBins = 0,
): CondensedTiming {
  const M = ops.spatialRows;
  const N = ops.spatialCols;
  const K = ops.temporal;
  const histogram = new Array<number>(histogramBins).fill(0);
  if (M === 0 || N === 0 || K === 0)
    return { folds: 0, cycles: 0, passCycles: 0, tilePasses: 0, accumulateBoundTiles: 0, histogram };
  const tileRows = Number.isFinite(cd.tileRows) ? cd.tileRows : Math.ceil(M / units);
  const tileCols = Number.isFinite(cd.tileCols) ? cd.tileCols : N;
  const rowTiles = Math.ceil(M / tileRows);
  const colTiles = Math.ceil(N / tileCols);
  // Non-zeros and passes per step of each row tile (A side) and column tile (B side).
  const rowSteps = stepCounts(ops.rowBits, M, K, tileRows, cd.unit.rows);
  const colSteps = stepCounts(ops.colBits, N, K, tileCols, cd.unit.cols);
  const accumulate = cd.accumulatePerCycle ?? Number.POSITIVE_INFINITY;
  const fill = cyclesPerFold(0, cd.unit, 'os');
  let folds = 0;
  let cycles = 0;
  let passCycles = 0;
  let tilePasses = 0;
  let accumulateBoundTiles = 0;
  const streams = new Float64Array(units);
  for (let ct = 0; ct < colTiles; ct++) {
    const pb = colSteps[ct]!.passes;
    const cb = colSteps[ct]!.counts;
    const c0 = ct * tileCols;
    const c1 = Math.min(c0 + tileCols, N);
    for (let first = 0; first < rowTiles; first += units) {
      const last = Math.min(first + units, rowTiles);
      let busiest = 0;
      for (let rt = first; rt < last; rt++) {
        const r0 = rt * tileRows;
        const r1 = Math.min(r0 + tileRows, M);
        let stream = 0;
        if (anyAllowed(ops.stat, r0, r1, c0, c1)) {
          const pa = rowSteps[rt]!.passes;
          for (let k = 0; k < K; k++) stream += pa[k]! * pb[k]!;
          if (accumulate !== Number.POSITIVE_INFINITY) {
            const ca = rowSteps[rt]!.counts;
            let pairs = 0;
            for (let k = 0; k < K; k++) pairs += ca[k]! * cb[k]!;
            const scatter = Math.ceil(pairs / accumulate);
            if (scatter > stream) {
              stream = scatter;
              accumulateBoundTiles++;
            }
          }
        }
        streams[rt - first] = stream;
        tilePasses += stream;
        if (stream > 0) folds++;
        if (stream > busiest) busiest = stream;
      }
      if (busiest === 0) continue;
      passCycles += busiest;
      cycles += busiest + fill;
      if (histogramBins > 0) {
        for (let u = 0; u < last - first; u++) {
          const bin = Math.min(histogramBins - 1, Math.floor((streams[u]! / busiest) * histogramBins));
          histogram[bin]!++;
        }
      }
    }
  }
  return { folds, cycles, passCycles, tilePasses, accumulateBoundTiles, histogram };
}

/** Per reduction step of one tile: its non-zeros on one side and the passes they take. */
interface TileSteps {
  readonly counts: Int32Array;
  readonly passes: Int32Array;
}

/**
 * For each tile of `tile` consecutive rows of `bits` (rows × K; null = all ones), the set bits of
 * the tile's rows at each step k and the passes they need, ⌈count / width⌉.
 */
function stepCounts(
  bits: BitMatrix | null,
  rows: number,
  K: number,
  tile: number,
  width: number,
): readonly TileSteps[] {
  const tiles = Math.ceil(rows / tile);
  const out: TileSteps[] = [];
  for (let t = 0; t < tiles; t++) {
    const r0 = t * tile;
    const r1 = Math.min(r0 + tile, rows);
    const counts = new Int32Array(K);
    const passes = new Int32Array(K);
    if (bits === null) {
      counts.fill(r1 - r0);
      passes.fill(Math.ceil((r1 - r0) / width));
    } else {
      const words = bits.words;
      for (let r = r0; r < r1; r++) {
        const base = r * bits.wordsPerRow;
        for (let w = 0; w < bits.wordsPerRow; w++) {
          let v = words[base + w]!;
          while (v !== 0) {
            const low = v & -v;
            counts[(w << 5) + 31 - Math.clz32(low)]!++;
            v = (v ^ low) >>> 0;
          }
        }
      }
      for (let k = 0; k < K; k++) passes[k] = Math.ceil(counts[k]! / width);
    }
    out.push({ counts, passes });
  }
  return out;
}

/** Whether the tile holds an output the array must produce (stat null = every output). */
function anyAllowed(stat: BitMatrix | null, r0: number, r1: number, c0: number, c1: number): boolean {
  if (stat === null) return true;
  for (let r = r0; r < r1; r++) if (rowCount(stat, r, c0, c1) > 0) return true;
  return false;
}
