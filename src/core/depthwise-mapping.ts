import { DATAFLOW_ROLES } from './dataflow-mapping.js';
import type { FoldSequence } from './fold-overlap.js';
import { type HardwareModel, skipsAnything } from './hardware.js';
import type { LoweredSparseLayer } from './sparse/layer-lowering.js';

/**
 * How a depthwise layer's channels share the array (docs/model.md, "Depthwise mapping"). Each
 * channel is its own small GEMM whose fold occupies an Sr × Sc tile of PEs (its stationary
 * elements). Up to `groupSize` channels share one fold, each in its own tile of a p × q grid of
 * tiles. Two channels in the same tile row share the row operand stream, in the same tile column
 * the column stream, so they cannot stream at once; channels in distinct tile rows and columns
 * can. Spreading the g channels evenly, every tile row holds ceil(g / p) and every tile column
 * ceil(g / q) of them, and the group needs max of the two time slots (the most channels sharing
 * one stream; a bipartite edge colouring achieves it) of `concurrency` = ceil(g / slots) channels:
 * one fill and drain per group instead of one per channel.
 */
export interface DepthwiseGrouping {
  /** Channels per fold. */
  readonly groupSize: number;
  /** Channels streaming at once (distinct tile rows and columns): ceil(g / slots). */
  readonly concurrency: number;
  /** Folds of one channel's own GEMM (row folds × column folds, the order lane timing reports them). */
  readonly channelFolds: number;
  /** Dense steps of one channel's fold (T). */
  readonly temporal: number;
  /**
   * Lanes skip independently over the whole fold (element granularity, unbounded look-ahead, an
   * array that skips): a group streams its busiest channel's stream, max_j s_j.
   */
  readonly independentLanes: boolean;
}

/**
 * The grouping of a depthwise layer on a systolic array, or undefined when each channel keeps its
 * own folds (not depthwise, event-driven, N:M weights, or one channel's tile fills the array).
 * Tiles per side: p = floor(R / Sr) (1 when Sr > R: the channel has row folds of its own), q
 * likewise with C and Sc; groupSize = min(channels, p·q).
 */
export function depthwiseGrouping(low: LoweredSparseLayer, hw: HardwareModel): DepthwiseGrouping | undefined {
  if (low.spec.op !== 'depthwise' || low.instances < 2) return undefined;
  if (hw.arrayKind === 'event-driven' || hw.support.weights === 'nm') return undefined;
  const { array, dataflow } = hw;
  const roles = DATAFLOW_ROLES[dataflow];
  const sr = low.gemm[roles.rows];
  const sc = low.gemm[roles.cols];
  const p = sr <= array.rows ? Math.floor(array.rows / sr) : 1;
  const q = sc <= array.cols ? Math.floor(array.cols / sc) : 1;
  const groupSize = Math.min(low.instances, p * q);
  if (groupSize < 2) return undefined;
  const slots = Math.max(Math.ceil(groupSize / p), Math.ceil(groupSize / q));
  return {
    groupSize,
    concurrency: Math.ceil(groupSize / slots),
    channelFolds: Math.ceil(sr / array.rows) * Math.ceil(sc / array.cols),
    temporal: low.gemm[roles.time],
    independentLanes:
      skipsAnything(hw) && hw.granularity === 'element' && hw.lookaheadSteps === Number.POSITIVE_INFINITY,
  };
}

/** A fold sequence that also reports how many folds it was given, zero-stream ones included. */
export interface GroupedFoldSequence extends FoldSequence {
  /** Group folds formed (each channel's fold positions merged across its group). */
  readonly groupFolds: number;
}

/**
 * Wraps the layer's fold sequence: lane timing adds every channel's folds in channel order (each
 * channel's streams s_j as if it ran alone); every `groupSize` channels, fold position f of the
 * group gets the combined stream of the channels' position-f folds and goes to `inner`. Channel i
 * of a group runs in slot floor(i / concurrency); a slot streams min(T, Σ of its channels' s_j)
 * (they stream side by side, each skipping its own empty steps) and the fold Σ over its slots, or,
 * with independent lanes, max_j s_j over the whole group. Never more than Σ_j s_j, so never more
 * cycles than one fold per channel. A group with no work costs 0.
 */
export function groupedFoldSequence(inner: FoldSequence, grouping: DepthwiseGrouping): GroupedFoldSequence {
  const { groupSize, concurrency, channelFolds, temporal, independentLanes } = grouping;
  const slot = new Array<number>(channelFolds).fill(0);
  const fold = new Array<number>(channelFolds).fill(0);
  let position = 0;
  let groupFolds = 0;
  const closeSlot = (): void => {
    for (let f = 0; f < channelFolds; f++) {
      if (!independentLanes) fold[f]! += Math.min(temporal, slot[f]!);
      slot[f] = 0;
    }
  };
  const flush = (): void => {
    if (position === 0) return;
    closeSlot();
    for (let f = 0; f < channelFolds; f++) {
      inner.add(fold[f]!);
      fold[f] = 0;
    }
    groupFolds += channelFolds;
    position = 0;
  };
  return {
    add(stream: number, count = 1): void {
      for (let i = 0; i < count; i++) {
        const f = position % channelFolds;
        const s = Math.max(0, stream);
        if (independentLanes) fold[f] = Math.max(fold[f]!, s);
        else slot[f]! += s;
        position++;
        if (position === channelFolds * groupSize) flush();
        else if (position % (channelFolds * concurrency) === 0) closeSlot();
      }
    },
    get folds(): number {
      return inner.folds;
    },
    get groupFolds(): number {
      return groupFolds + (position > 0 ? channelFolds : 0);
    },
    cycles(): number {
      flush();
      return inner.cycles();
    },
    reset(): void {
      inner.reset();
      slot.fill(0);
      fold.fill(0);
      position = 0;
      groupFolds = 0;
    },
  };
}
