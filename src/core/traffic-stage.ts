import { isRankOneUpdate } from './compute-stage.js';
import type { Mapping } from './dataflow-mapping.js';
import type { HardwareModel, NmPattern, StorageFormat } from './hardware.js';
import { PSUM_BITS } from './hardware.js';
import { type LevelAccess, NO_ACCESS } from './levels.js';
import { type DeltaStateCost, deltaStateCost } from './sparse/delta-state.js';
import { wordBits } from './sparse/energy.js';
import type { LoweredSparseLayer } from './sparse/layer-lowering.js';
import {
  denseStats,
  layerTraffic,
  maskStats,
  type StoredBits,
  storedBits,
  type TensorStats,
  type Traffic,
} from './sparse/memory.js';
import { nmStoredBits } from './sparse/structured-weights.js';

/** What the traffic of one layer-step depends on besides the layer and the hardware. */
export interface TrafficStepInput {
  readonly aMask?: Uint8Array;
  readonly bMask?: Uint8Array;
  readonly keyFrame: boolean;
  /** A static weight must be (re)read from DRAM at this step (first step, or residency says so). */
  readonly reloadWeight: boolean;
  /** From the compute stage. */
  readonly executedMacs: number;
  readonly aNonzeros: number;
  readonly events: number;
  /** The N:M pattern the compute stage ran the weights under: they are stored as its kept slots. */
  readonly structuredWeights?: NmPattern;
  /**
   * The outputs' zero mask when it is known (the consumer's input, after its activation function):
   * outputs are then written to DRAM under the activations' format, as a design that compresses
   * feature maps on the way out does. Absent: outputs are written dense.
   */
  readonly outputMask?: Uint8Array;
}

/** Bits moved per level in one layer-step, and the delta unit's share (docs/model.md). */
export interface StepTraffic {
  readonly dram: LevelAccess;
  readonly ifmap: LevelAccess;
  readonly filter: LevelAccess;
  readonly ofmap: LevelAccess;
  /** DRAM bits a resident weight did not need. */
  readonly residentSavedBits: number;
  /** Delta bookkeeping (delta mode only; absent = the layer has no state memory traffic). */
  readonly deltaState?: DeltaStateCost;
  /**
   * Other state traffic: a recurrent state operand (DeltaNet's S) read or updated, and dense q read
   * back from a delta producer's state. At the state memory when it fits, else at DRAM.
   */
  readonly stateAccess?: { readonly access: LevelAccess; readonly onChip: boolean };
}

export interface TrafficStageOptions {
  readonly delta: boolean;
  /**
   * Operands that are a delta layer's output read densely by this (non-delta) layer: nothing wrote
   * them to DRAM, so the reconstructed q is read from the producer's state memory instead.
   */
  readonly reconstructed?: { readonly a?: boolean; readonly b?: boolean };
  /**
   * This layer's A operand is stored in this format instead of the activations' (e.g. `dense` for
   * a network's first layer, whose raw input a design does not compress). Outputs keep the
   * activations' format.
   */
  readonly inputFormat?: StorageFormat;
}

export interface TrafficStage {
  run(input: TrafficStepInput): StepTraffic;
}

/**
 * The traffic stage: bytes per tensor and level from the storage formats (stored sizes follow the
 * masks), the reuse the mapping allows, weight residency and, in delta mode, the state memory.
 */
export function createTrafficStage(
  low: LoweredSparseLayer,
  hw: HardwareModel,
  mapping: Mapping,
  options: TrafficStageOptions,
): TrafficStage {
  const bits = wordBits(hw.precision);
  const eventDriven = hw.arrayKind === 'event-driven';
  const aFormat = options.inputFormat ?? hw.formats.activations;
  const aRunBits = aFormat === 'rle' ? hw.rleRunBits : undefined;
  const outRunBits = hw.formats.activations === 'rle' ? hw.rleRunBits : undefined;
  const bFormat = low.bOperand === 'rhs' ? hw.formats.activations : hw.formats.weights;
  const bRunBits = bFormat === 'rle' ? hw.rleRunBits : undefined;
  let staticBStats: TensorStats | undefined;
  // Stored sizes follow the masks whatever the support (a dense array may still store compressed).
  const statsOf = (mask: Uint8Array | undefined, elements: number, runBits?: number): TensorStats =>
    mask ? maskStats(mask, elements, runBits) : denseStats(elements);

  // Residency, like the rest of the mapping, is decided on the weight's dense size (memory.ts).
  const bFits = (low.bElements * bits) / 8 <= hw.sram.filterBytes;
  const aSupport = options.delta ? hw.support.deltas : hw.support.activations;
  const rowFetch =
    hw.weightFetch === 'nonzero-inputs' && low.bOperand === 'weight' && aSupport === 'skip'
      ? createWeightRowFetch(low)
      : undefined;

  /**
   * The share of B this step reads from DRAM and the share residency spared (docs/model.md,
   * "Weight fetch"). `whole`: all of B unless it stays resident. `nonzero-inputs`: the rows of B
   * that meet a non-zero input this step, less those a resident B already holds (a B that fits
   * keeps the rows it fetched until the residency rule reloads it).
   */
  function weightFetch(input: TrafficStepInput): { fetchedShare: number; savedShare: number } {
    const keep = bFits && !input.reloadWeight;
    if (!rowFetch) return keep ? { fetchedShare: 0, savedShare: 1 } : { fetchedShare: 1, savedShare: 0 };
    return rowFetch.step(input.aMask, keep);
  }

  function run(input: TrafficStepInput): StepTraffic {
    const aStats = statsOf(input.aMask, low.inputElements, aRunBits);
    let bStats: TensorStats;
    if (low.bOperand === 'weight') {
      staticBStats ??= statsOf(input.bMask, low.bElements, bRunBits);
      bStats = staticBStats;
    } else {
      bStats = statsOf(input.bMask, low.bElements, bRunBits);
    }
    const bStored = input.structuredWeights
      ? nmStoredBits(low.bElements, low.gemm.k, input.structuredWeights, bits)
      : storedBits(bFormat, bStats, bits, hw.rleRunBits, hw.rlePackBits);
    const traffic = layerTraffic({
      dataflow: hw.dataflow,
      gemm: low.gemm,
      instances: low.instances,
      rowFolds: mapping.rowFolds,
      colFolds: mapping.colFolds,
      a: storedBits(aFormat, aStats, bits, hw.rleRunBits, hw.rlePackBits),
      aElements: low.inputElements,
      b: bStored,
      bElements: low.bElements,
      outputElements: low.outputElements,
      ...(input.outputMask
        ? {
            out: storedBits(
              hw.formats.activations,
              maskStats(input.outputMask, low.outputElements, outRunBits),
              bits,
              hw.rleRunBits,
              hw.rlePackBits,
            ),
          }
        : {}),
      wordBits: bits,
      sram: hw.sram,
      bFetch: weightFetch(input),
      aOnChip: options.delta,
      outputsToDram: !options.delta,
      psumsInOfmap: !options.delta,
      ...(eventDriven ? { eventReads: { aElements: input.events, bElements: input.executedMacs } } : {}),
    });
    if (!options.delta) return dynamicTraffic(traffic, input, aStats, bStored);
    const cost = deltaStateCost({
      inputElements: low.inputElements,
      outputElements: low.outputElements,
      touchedOutputs: touchedOutputs(low, input.aMask, input.executedMacs),
      changedInputs: input.aNonzeros,
      psumPasses: hw.dataflow === 'os' ? 1 : mapping.rowFolds,
      wordBits: bits,
      keyFrame: input.keyFrame,
      stateMemory: hw.stateMemory,
      table: hw.energy,
      precision: hw.precision,
      lanes: hw.array.cols,
    });
    return { ...traffic, deltaState: cost };
  }

  const dynamicB = low.bOperand === 'rhs' && low.spec.op === 'delta-rule';
  const rankOne = isRankOneUpdate(low);
  const reconA = options.reconstructed?.a === true;
  const reconB = options.reconstructed?.b === true && low.bOperand === 'rhs';

  /**
   * Non-delta layers whose operands are not (only) DRAM tensors (docs/model.md, "Dynamic B
   * operands" and "Temporal (delta) mode"):
   * - the recurrent state S as B (retrieve Sᵀk, readout Sᵀq): read from the state memory every
   *   step instead of DRAM (never resident: it changes every token);
   * - the rank-1 update S ← S + k·uᵀ: element-wise MACs, each reading and writing one element of
   *   S; k and u are read once each, no partial sums, no dense output to DRAM;
   * - an operand reconstructed by a delta producer: its dense q is read from the producer's state
   *   memory (32-bit y per element) instead of from DRAM.
   */
  function dynamicTraffic(
    traffic: Traffic,
    input: TrafficStepInput,
    aStats: TensorStats,
    bStored: StoredBits,
  ): StepTraffic {
    if (!dynamicB && !reconA && !reconB) return traffic;
    const aStored = storedBits(aFormat, aStats, bits, hw.rleRunBits, hw.rlePackBits);
    const aTotal = aStored.payloadBits + aStored.metadataBits;
    const bTotal = bStored.payloadBits + bStored.metadataBits;
    const metadataShare = (fill: number, stored: StoredBits, total: number): number =>
      total > 0 ? (fill * stored.metadataBits) / total : 0;
    let { dram, ifmap, filter, ofmap } = traffic;
    // DRAM reads of each operand (its buffer fills: a non-delta layer fills only from DRAM).
    let aFill = traffic.ifmap.writeBits;
    let bFill = traffic.filter.writeBits;
    let stateRead = 0;
    let stateWrite = 0;
    let stateMetadata = 0;
    let stateBitsHeld = 0;
    if (rankOne) {
      aFill = aTotal;
      bFill = bTotal;
      dram = {
        readBits: aTotal + bTotal,
        writeBits: 0,
        metadataBits: aStored.metadataBits + bStored.metadataBits,
      };
      ifmap = { readBits: aTotal, writeBits: aTotal, metadataBits: 2 * aStored.metadataBits };
      filter = { readBits: bTotal, writeBits: bTotal, metadataBits: 2 * bStored.metadataBits };
      ofmap = NO_ACCESS;
      stateRead += input.executedMacs * bits;
      stateWrite += input.executedMacs * bits;
      stateBitsHeld += low.outputElements * bits;
    } else if (dynamicB) {
      // S is filled into the filter buffer from the state memory, every step.
      const meta = metadataShare(bFill, bStored, bTotal);
      dram = { ...dram, readBits: dram.readBits - bFill, metadataBits: dram.metadataBits - meta };
      stateRead += bFill;
      stateMetadata += meta;
      stateBitsHeld += low.bElements * bits;
    }
    if (reconA) {
      const refetch = aTotal > 0 ? aFill / aTotal : 1;
      const meta = metadataShare(aFill, aStored, aTotal);
      dram = { ...dram, readBits: dram.readBits - aFill, metadataBits: dram.metadataBits - meta };
      stateRead += low.inputElements * PSUM_BITS * refetch;
      stateBitsHeld += low.inputElements * PSUM_BITS;
    }
    if (reconB && !dynamicB && !rankOne) {
      const refetch = bTotal > 0 ? bFill / bTotal : 1;
      const meta = metadataShare(bFill, bStored, bTotal);
      dram = { ...dram, readBits: dram.readBits - bFill, metadataBits: dram.metadataBits - meta };
      stateRead += low.bElements * PSUM_BITS * refetch;
      stateBitsHeld += low.bElements * PSUM_BITS;
    }
    return {
      ...traffic,
      dram,
      ifmap,
      filter,
      ofmap,
      stateAccess: {
        access: { readBits: stateRead, writeBits: stateWrite, metadataBits: stateMetadata },
        onChip: stateBitsHeld / 8 <= hw.stateMemory.bytes,
      },
    };
  }

  return { run };
}

/**
 * Outputs at least one event reaches (delta state is read and written only there): per instance,
 * the rows m whose A row has a non-zero, non-structural entry, times the outputs of that row.
 * Exact when the weights have no zero column for that row's events; an upper bound otherwise.
 * No mask (dense) or no MAC executed: every output, or none.
 */
export function touchedOutputs(
  low: LoweredSparseLayer,
  aMask: Uint8Array | undefined,
  executed: number,
): number {
  if (executed === 0) return 0;
  if (aMask === undefined) return low.outputElements;
  const { m: M, n: N, k: K } = low.gemm;
  const aIndex = low.aIndex;
  let touched = 0;
  for (let i = 0; i < low.instances; i++) {
    const base = i * low.aInstanceStride;
    for (let m = 0; m < M; m++) {
      for (let k = 0; k < K; k++) {
        const idx = aIndex[m * K + k]!;
        if (idx < 0 || (low.operandCausal && k > m)) continue;
        const bit = base + idx;
        if ((aMask[bit >>> 3]! >>> (bit & 7)) & 1) {
          touched += low.outputCausal ? Math.min(m + 1, N) : N;
          break;
        }
      }
    }
  }
  return touched;
}

/**
 * Row-wise weight fetch (`weightFetch: nonzero-inputs`): a row k of B (per instance, unless the
 * instances share B) is needed at a step iff some non-zero, non-structural A entry of column k meets
 * it. Rows already in the filter buffer from earlier steps (when B is kept) are not fetched again.
 */
export function createWeightRowFetch(low: LoweredSparseLayer): {
  step(aMask: Uint8Array | undefined, keep: boolean): { fetchedShare: number; savedShare: number };
} {
  const { m: M, k: K } = low.gemm;
  const shared = low.bInstanceStride === 0;
  const rows = shared ? K : low.instances * K;
  const needed = new Uint8Array(rows);
  const loaded = new Uint8Array(rows);
  function markNeeded(aMask: Uint8Array | undefined): void {
    if (aMask === undefined) {
      needed.fill(1);
      return;
    }
    needed.fill(0);
    for (let i = 0; i < low.instances; i++) {
      const base = i * low.aInstanceStride;
      const rowBase = shared ? 0 : i * K;
      for (let m = 0; m < M; m++) {
        const kEnd = low.operandCausal ? Math.min(K, m + 1) : K;
        for (let k = 0; k < kEnd; k++) {
          if (needed[rowBase + k]) continue;
          const idx = low.aIndex[m * K + k]!;
          if (idx < 0) continue;
          const bit = base + idx;
          if ((aMask[bit >>> 3]! >>> (bit & 7)) & 1) needed[rowBase + k] = 1;
        }
      }
    }
  }
  return {
    step(aMask, keep) {
      markNeeded(aMask);
      if (!keep) loaded.fill(0);
      let fetched = 0;
      let saved = 0;
      for (let r = 0; r < rows; r++) {
        if (!needed[r]) continue;
        if (loaded[r]) saved++;
        else {
          fetched++;
          loaded[r] = 1;
        }
      }
      return rows > 0
        ? { fetchedShare: fetched / rows, savedShare: saved / rows }
        : { fetchedShare: 0, savedShare: 0 };
    },
  };
}
