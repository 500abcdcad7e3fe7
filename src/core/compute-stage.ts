import type { Dataflow } from './array.js';
import { DATAFLOW_ROLES } from './dataflow-mapping.js';
import { depthwiseGrouping, groupedFoldSequence } from './depthwise-mapping.js';
import { createFoldSequence, type FoldSequence } from './fold-overlap.js';
import { type HardwareModel, type NmPattern, type OperandSupport, skipsAnything } from './hardware.js';
import { packedPopcount } from './sparse/bits.js';
import { condensedTiming, condensedUnits } from './sparse/condensed-timing.js';
import { addEventHistogram, addEventInstance, createEventWork, eventCycles } from './sparse/event-timing.js';
import {
  denseLaneTiming,
  type LaneTiming,
  type LaneTimingOptions,
  laneTiming,
} from './sparse/lane-timing.js';
import type { LoweredSparseLayer } from './sparse/layer-lowering.js';
import {
  createOperandCache,
  executedIsLaneWork,
  type LaneOperands,
  type OperandPolicy,
  type PreparedB,
  type PreparedInstance,
  prepareB,
  prepareInstance,
} from './sparse/operand-bits.js';
import { nmGemm, nmViolation } from './sparse/structured-weights.js';

/** The masks one step of a layer brings to the array (packed, little bit order; absent = all ones). */
export interface ComputeStepInput {
  /** A over all instances: `input` (q_t), or Δ_t in delta mode. */
  readonly aMask?: Uint8Array;
  /** B: the static weight or this step's `rhs`. */
  readonly bMask?: Uint8Array;
}

/** What the array does in one layer-step (docs/model.md, "Sparse timing"). */
export interface ComputeResult {
  readonly macs: number;
  readonly executedMacs: number;
  readonly gatedMacs: number;
  /** Skipped MACs by reason: A zero (activation or Δ), B zero (weight), structural. */
  readonly zeroA: number;
  readonly zeroB: number;
  readonly structural: number;
  /** Folds timed (0 on an event-driven array). */
  readonly folds: number;
  readonly computeCycles: number;
  /** Non-zero A elements (the events of an A-skipping array; every element without a mask). */
  readonly aNonzeros: number;
  /** Input events the array handles: the non-zero A elements if it skips zero A, else every element. */
  readonly events: number;
  /** The N:M pattern the step ran its weights under (absent: unstructured, or the weight broke it). */
  readonly structuredWeights?: NmPattern;
}

export interface ComputeStageOptions {
  /** The A operand is Δ (delta mode): it uses the `deltas` support. */
  readonly delta: boolean;
  /** Always walk the bit-level path, even where the dense closed form applies (the reference). */
  readonly bitLevel?: boolean;
  readonly histogramBins?: number;
}

export interface ComputeStage {
  /**
   * Times one step. `histogram` (length = bins) receives the step's lane-work histogram; `onInstance`
   * sees every instance's lanes (verification walks the same schedule the timing counted).
   */
  run(
    input: ComputeStepInput,
    histogram: number[],
    onInstance?: (instance: number, lanes: LaneOperands) => void,
  ): ComputeResult;
}

/**
 * The compute stage: fold schedule (or event dispatch) → compute cycles and executed / gated /
 * skipped MACs, from the operand masks. Pure; a static weight's bit structures are built once.
 */
export function createComputeStage(
  low: LoweredSparseLayer,
  hw: HardwareModel,
  options: ComputeStageOptions,
): ComputeStage {
  const { array, dataflow } = hw;
  const eventDriven = hw.arrayKind === 'event-driven';
  const pes = array.rows * array.cols;
  const overlap = hw.overlap ?? 'none';
  const structuralSkip = skipsAnything(hw);
  // N:M weights run their kept slots densely: no per-element weight skipping, compute as for K·N/M.
  let nm = low.bOperand === 'weight' && hw.support.weights === 'nm' ? hw.support.nm : undefined;
  let nmChecked = false;
  const bSupport: OperandSupport =
    low.bOperand === 'rhs'
      ? hw.support.activations
      : hw.support.weights === 'nm'
        ? 'none'
        : hw.support.weights;
  const aSupport = options.delta ? hw.support.deltas : hw.support.activations;
  const policy: OperandPolicy = { aSupport, bSupport, structuralSkip, dataflow };
  const bins = options.histogramBins ?? 0;
  const staticB = new Map<number, PreparedB>();
  // Per-layer operand setup (gather plan, padding counts, scratch bits) reused by every step.
  const operandCache = createOperandCache(low);
  const rankOne = isRankOneUpdate(low);
  // A condensed datapath times the instance from its lanes instead of the systolic fold schedule.
  const condensed = hw.condensed && !eventDriven && !rankOne ? hw.condensed : undefined;
  // Element lanes of an OS array that skips both operands count the executed MACs themselves.
  const executedFromLanes =
    !condensed && !eventDriven && !rankOne && hw.granularity === 'element' && executedIsLaneWork(low, policy);
  const units = condensed ? condensedUnits(array, condensed) : 0;
  // Depthwise channels share folds (depthwise-mapping.ts): one fill and drain per group of channels.
  const grouping = depthwiseGrouping(low, hw);
  // One fold sequence, timing options and (empty) event record for every step of the layer: built
  // per step they were garbage of every layer-step.
  const grouped = grouping && groupedFoldSequence(createFoldSequence(array, dataflow, overlap), grouping);
  const timingOptions: LaneTimingOptions & { readonly sequence: FoldSequence } = {
    array,
    dataflow,
    granularity: hw.granularity,
    lookaheadSteps: hw.lookaheadSteps,
    histogramBins: eventDriven ? 0 : bins,
    sequence: grouped || createFoldSequence(array, dataflow, overlap),
  };
  const noEvents = createEventWork(0);
  // The dense instance of the layer's GEMM (read-only): the baseline asks for it every step.
  let dense: PreparedInstance | undefined;

  function run(
    input: ComputeStepInput,
    histogram: number[],
    onInstance?: (instance: number, lanes: LaneOperands) => void,
  ): ComputeResult {
    // A weight that breaks the pattern cannot use the structured path: the layer runs dense, as a
    // library falls back to its dense kernel for an unpruned weight.
    if (nm && input.bMask && !nmChecked) {
      if (nmViolation(low, input.bMask, nm)) nm = undefined;
      nmChecked = true;
    }
    const closedForm = nm !== undefined || (options.bitLevel !== true && isDenseStep(low, policy, input));
    timingOptions.sequence.reset();
    const events = eventDriven ? createEventWork(pes) : noEvents;
    // Only the bit-level path reads masks; an absent one is all ones.
    const aMask = closedForm ? undefined : (input.aMask ?? allOnesMask(low.inputElements));
    const bMask = closedForm ? undefined : (input.bMask ?? allOnesMask(low.bElements));
    let executed = 0;
    let gated = 0;
    let folds = 0;
    let condensedCycles = 0;
    let zeroA = 0;
    let zeroB = 0;
    let structural = 0;
    for (let i = 0; i < low.instances; i++) {
      let prepared: PreparedInstance;
      let timing: LaneTiming | undefined;
      if (nm) {
        // The kept slots time and count as a dense GEMM with K' = ⌈K/M⌉·N; the dropped slots hold
        // zero weights, so verification may walk the full dense schedule.
        const kept = denseInstance(low, dataflow, nmGemm(low.gemm, nm));
        const full = denseInstance(low, dataflow);
        const macs = full.counts.macs;
        timing = denseLaneTiming(kept.lanes, timingOptions);
        prepared = {
          lanes: full.lanes,
          counts: { ...kept.counts, macs, zeroB: macs - kept.counts.executed },
        };
      } else if (aMask === undefined || bMask === undefined) {
        dense ??= denseInstance(low, dataflow);
        prepared = dense;
        timing = denseLaneTiming(prepared.lanes, timingOptions);
      } else {
        let preparedB: PreparedB | undefined;
        if (low.bOperand === 'weight') {
          preparedB = staticB.get(i) ?? prepareB(low, i, bMask, policy);
          staticB.set(i, preparedB);
        }
        prepared = prepareInstance(low, i, aMask, bMask, policy, preparedB, operandCache, executedFromLanes);
        // The condensed datapath has its own timing (below): no lane schedule to walk.
        if (!condensed) timing = laneTiming(prepared.lanes, timingOptions);
      }
      if (eventDriven && !rankOne) {
        addEventInstance(events, {
          low,
          instance: i,
          aMask,
          aSkip: policy.aSupport === 'skip',
          bSkipBits:
            policy.bSupport === 'skip' && bMask !== undefined ? prepareB(low, i, bMask, policy).bAct : null,
          structuralSkip,
        });
      }
      const c = prepared.counts;
      // executedFromLanes: counts left executed to the lane work, counted in zeroB meanwhile.
      const laneExecuted = executedFromLanes && timing && !closedForm && !nm ? timing.laneWork : 0;
      executed += c.executed + laneExecuted;
      gated += c.gated;
      zeroA += c.zeroA;
      zeroB += c.zeroB - laneExecuted;
      structural += c.structural;
      if (condensed) {
        const c = condensedTiming(prepared.lanes, condensed, units, bins);
        condensedCycles += c.cycles;
        folds += c.folds;
        for (let b = 0; b < bins; b++) histogram[b]! += c.histogram[b]!;
      } else if (timing) {
        folds += eventDriven ? 0 : timing.folds;
        if (!eventDriven && !rankOne) for (let b = 0; b < bins; b++) histogram[b]! += timing.histogram[b]!;
      }
      onInstance?.(i, prepared.lanes);
    }
    const { m, n, k } = low.gemm;
    const aNonzeros = input.aMask ? packedPopcount(input.aMask, low.inputElements) : low.inputElements;
    // Every input element the array does not skip is an event; with no A skipping all of them are.
    const eventCount = policy.aSupport === 'skip' ? aNonzeros : low.inputElements;
    let computeCycles: number;
    if (rankOne) {
      // No reduction: every executed MAC is an independent multiply-add into one state element,
      // spread over all PEs (no folds, no fill or drain).
      computeCycles = Math.ceil(executed / pes);
      folds = 0;
    } else if (eventDriven) {
      computeCycles = eventCycles(events, eventCount, hw.eventDispatchCycles ?? 1);
      addEventHistogram(histogram, events);
    } else if (condensed) {
      computeCycles = condensedCycles;
    } else {
      computeCycles = timingOptions.sequence.cycles();
      if (grouped) folds = grouped.groupFolds;
    }
    return {
      macs: low.instances * m * n * k,
      executedMacs: executed,
      gatedMacs: gated,
      zeroA,
      zeroB,
      structural,
      folds,
      computeCycles,
      aNonzeros,
      events: eventCount,
      ...(nm ? { structuredWeights: nm } : {}),
    };
  }

  return { run };
}

/**
 * A delta-rule product with no reduction (K = 1): the rank-1 state update S ← S + k·uᵀ, whose
 * d_k·d_v MACs are element-wise (docs/model.md, "Dynamic B operands").
 */
export function isRankOneUpdate(low: LoweredSparseLayer): boolean {
  return low.spec.op === 'delta-rule' && low.gemm.k === 1;
}

/**
 * Whether a step's MAC counts and lane timing have the dense closed form: no operand has a zero
 * the array acts on (its support is `none`, or its mask is absent = all ones and no structural zero
 * sits on it), and no structural zero is skipped. Then every MAC executes ungated, nothing is
 * skipped, and every fold streams its whole temporal extent.
 */
function isDenseStep(low: LoweredSparseLayer, policy: OperandPolicy, input: ComputeStepInput): boolean {
  const aStructure = low.hasPadding || low.operandCausal;
  const aDense = policy.aSupport === 'none' || (input.aMask === undefined && !aStructure);
  const bDense = policy.bSupport === 'none' || input.bMask === undefined;
  const structureKept = !policy.structuralSkip || !(aStructure || low.outputCausal);
  return aDense && bDense && structureKept;
}

/** One instance of a dense step: all MACs executed; lanes all ones (null bit matrices). */
function denseInstance(low: LoweredSparseLayer, dataflow: Dataflow, gemm = low.gemm): PreparedInstance {
  const { m, n, k } = gemm;
  const roles = DATAFLOW_ROLES[dataflow];
  const size = { m, n, k };
  const macs = m * n * k;
  return {
    lanes: {
      spatialRows: size[roles.rows],
      spatialCols: size[roles.cols],
      temporal: size[roles.time],
      rowBits: null,
      colBits: null,
      stat: null,
    },
    counts: { macs, executed: macs, gated: 0, zeroA: 0, zeroB: 0, structural: 0 },
  };
}

/** A packed mask of `elements` ones (the bit-level path's view of an absent mask). */
export function allOnesMask(elements: number): Uint8Array {
  const mask = new Uint8Array(Math.ceil(elements / 8)).fill(0xff);
  const rest = elements & 7;
  if (rest > 0) mask[mask.length - 1] = (1 << rest) - 1;
  return mask;
}
