import type { Dataflow } from './array.js';
import { DATAFLOW_ROLES, mapGemm, mappingEfficiency } from './dataflow-mapping.js';
import type { RunEvent } from './events.js';
import { cyclesPerFold } from './fold-timing.js';
import { type HardwareModel, skipsAnything, summarizeHardware } from './hardware.js';
import { ENERGY_COMPONENTS, type EnergyPj, type LayerReport, type Report } from './report.js';
import { reportTotal, utilizationOf } from './report-total.js';
import { deltaStateCost } from './sparse/delta-state.js';
import {
  computeEnergy,
  type EnergyParts,
  leakageEnergy,
  memoryEnergy,
  wordBits,
  zeroEnergy,
} from './sparse/energy.js';
import { denseLaneTiming, type LaneTiming, laneTiming } from './sparse/lane-timing.js';
import {
  type BOperand,
  type LoweredSparseLayer,
  lowerSparseLayer,
  type SparseLayerSpec,
} from './sparse/layer-lowering.js';
import { denseStats, layerTraffic, maskStats, storedBits, type TensorStats } from './sparse/memory.js';
import {
  type OperandPolicy,
  type PreparedB,
  type PreparedInstance,
  prepareB,
  prepareInstance,
} from './sparse/operand-bits.js';
import { createLayerVerifier, type VerifyOutcome, type VerifyValues } from './sparse/verify.js';

/**
 * One step of one layer: the packed zero masks of its operands (numpy packbits, little bit order).
 * An absent mask is a dense operand (all ones): `simulate`'s workloads have no masks at all.
 */
export interface ReplayStepInput {
  /** The A operand over all instances: `input` (q_t), or `delta` (Δ_t) when the layer runs in delta mode. */
  readonly aMask?: Uint8Array;
  /** The B operand: the layer's `weight`, or this step's `rhs`. */
  readonly bMask?: Uint8Array;
  /** Delta mode: a key step is processed densely (Δ = q) and (re)initialises the stored state. */
  readonly keyFrame: boolean;
  /** Values, for verification only: A as above, B, and in delta mode the step's dense input q_t. */
  readonly values?: VerifyValues;
}

export interface LayerReplayOptions {
  readonly bOperand: BOperand;
  /** Run this layer as y_t = y_{t−1} + W·Δ_t (the caller supplies Δ masks in `aMask`). */
  readonly delta: boolean;
  readonly histogramBins?: number;
  /**
   * Always walk the bit-level path (masks, per-k counts, lane AND + popcount), even where the
   * closed form for dense operands applies. The reference the closed form is tested against.
   */
  readonly bitLevel?: boolean;
}

export interface StepOutcome {
  readonly macs: number;
  readonly executedMacs: number;
  readonly cycles: number;
  readonly computeCycles: number;
  readonly denseCycles: number;
  readonly verify?: VerifyOutcome;
}

export interface LayerReplay {
  readonly lowered: LoweredSparseLayer;
  step(input: ReplayStepInput): StepOutcome;
  report(): LayerReport;
}

/**
 * The replay of one layer across steps: a pure accumulator (no I/O; the caller feeds masks one
 * step at a time, so memory stays O(layer)). Timing, memory, stalls and energy per docs/model.md.
 */
export function createLayerReplay(
  spec: SparseLayerSpec,
  hw: HardwareModel,
  options: LayerReplayOptions,
): LayerReplay {
  const low = lowerSparseLayer(spec, options.bOperand);
  const { array, dataflow } = hw;
  const mapping = mapGemm(low.gemm, array, dataflow);
  const denseStepCycles = low.instances * mapping.folds * cyclesPerFold(mapping.temporal, array, dataflow);
  const bits = wordBits(hw.precision);
  const structuralSkip = skipsAnything(hw);
  const bSupport = options.bOperand === 'rhs' ? hw.support.activations : hw.support.weights;
  const bins = options.histogramBins ?? 0;
  let staticBStats: TensorStats | undefined;
  // A static weight's bit structures are built once and reused by every step.
  const staticB = new Map<number, PreparedB>();
  const verifier = createLayerVerifier(low, dataflow, options.delta, structuralSkip);

  const totals = {
    macs: 0,
    executed: 0,
    gated: 0,
    folds: 0,
    cycles: 0,
    computeCycles: 0,
    denseCycles: 0,
    stallCycles: 0,
    skipped: { zeroActivation: 0, zeroWeight: 0, zeroDelta: 0, structural: 0 },
    energy: zeroEnergy(),
    deltaCharged: false,
    histogram: new Array<number>(bins).fill(0),
  };

  function step(input: ReplayStepInput): StepOutcome {
    const aSupport = options.delta ? hw.support.deltas : hw.support.activations;
    const policy: OperandPolicy = { aSupport, bSupport, structuralSkip, dataflow };
    const closedForm = options.bitLevel !== true && isDenseStep(low, policy, input);
    const timingOptions = {
      array,
      dataflow,
      granularity: hw.granularity,
      lookaheadSteps: hw.lookaheadSteps,
      histogramBins: bins,
    };
    // Only the bit-level path reads masks; an absent one is all ones.
    const aMask = closedForm ? undefined : (input.aMask ?? allOnesMask(low.inputElements));
    const bMask = closedForm ? undefined : (input.bMask ?? allOnesMask(low.bElements));
    let executed = 0;
    let gated = 0;
    let computeCycles = 0;
    let folds = 0;
    let zeroA = 0;
    let zeroB = 0;
    let structural = 0;
    const verifying = input.values !== undefined;
    let verify:
      | { compared: number; mismatches: number; maxRelativeError: number; first?: VerifyOutcome['first'] }
      | undefined;
    if (verifying) verify = { compared: 0, mismatches: 0, maxRelativeError: 0 };
    const { m: M, n: N } = low.gemm;
    for (let i = 0; i < low.instances; i++) {
      let prepared: PreparedInstance;
      let timing: LaneTiming;
      if (aMask === undefined || bMask === undefined) {
        prepared = denseInstance(low, dataflow);
        timing = denseLaneTiming(prepared.lanes, timingOptions);
      } else {
        let preparedB: PreparedB | undefined;
        if (options.bOperand === 'weight') {
          preparedB = staticB.get(i) ?? prepareB(low, i, bMask, policy);
          staticB.set(i, preparedB);
        }
        prepared = prepareInstance(low, i, aMask, bMask, policy, preparedB);
        timing = laneTiming(prepared.lanes, timingOptions);
      }
      const c = prepared.counts;
      executed += c.executed;
      gated += c.gated;
      zeroA += c.zeroA;
      zeroB += c.zeroB;
      structural += c.structural;
      computeCycles += timing.cycles;
      folds += timing.folds;
      for (let b = 0; b < bins; b++) totals.histogram[b]! += timing.histogram[b]!;
      if (input.values && verify) {
        const outcome = verifier.check(i, prepared.lanes, input.values, input.keyFrame);
        verify.compared += outcome.compared;
        verify.mismatches += outcome.mismatches;
        verify.maxRelativeError = Math.max(verify.maxRelativeError, outcome.maxRelativeError);
        if (!verify.first && outcome.first) verify.first = outcome.first;
      }
    }
    const macs = low.instances * M * N * low.gemm.k;

    // Memory: stored sizes under the formats, traffic per level, transfer cycles.
    const aRunBits = hw.formats.activations === 'rle' ? hw.rleRunBits : undefined;
    const bFormat = options.bOperand === 'rhs' ? hw.formats.activations : hw.formats.weights;
    const bRunBits = bFormat === 'rle' ? hw.rleRunBits : undefined;
    // Stored sizes follow the masks whatever the support (a dense array may still store compressed).
    const statsOf = (mask: Uint8Array | undefined, elements: number, runBits?: number): TensorStats =>
      mask ? maskStats(mask, elements, runBits) : denseStats(elements);
    const aStats = statsOf(input.aMask, low.inputElements, aRunBits);
    let bStats: TensorStats;
    if (options.bOperand === 'weight') {
      staticBStats ??= statsOf(input.bMask, low.bElements, bRunBits);
      bStats = staticBStats;
    } else {
      bStats = statsOf(input.bMask, low.bElements, bRunBits);
    }
    const traffic = layerTraffic({
      dataflow,
      gemm: low.gemm,
      instances: low.instances,
      rowFolds: mapping.rowFolds,
      colFolds: mapping.colFolds,
      a: storedBits(hw.formats.activations, aStats, bits, hw.rleRunBits),
      aElements: low.inputElements,
      b: storedBits(bFormat, bStats, bits, hw.rleRunBits),
      bElements: low.bElements,
      outputElements: low.outputElements,
      wordBits: bits,
      sram: hw.sram,
    });
    const energy: EnergyParts = {
      ...zeroEnergy(),
      ...computeEnergy(hw.energy, { executedMacs: executed, gatedMacs: gated, precision: hw.precision }),
      ...memoryEnergy(hw.energy, traffic, hw.sram),
    };
    let dramBits = traffic.dramPayloadBits + traffic.dramMetadataBits;
    let stateCycles = 0;
    let unitCycles = 0;
    if (options.delta) {
      const cost = deltaStateCost({
        inputElements: low.inputElements,
        outputElements: low.outputElements,
        wordBits: bits,
        keyFrame: input.keyFrame,
        stateMemory: hw.stateMemory,
        table: hw.energy,
        precision: hw.precision,
        lanes: array.cols,
        dramPjPerBit: hw.energy.dramPjPerBit,
      });
      energy.deltaState = cost.energyPj;
      dramBits += cost.dramBits;
      stateCycles = cost.stateCycles;
      unitCycles = cost.unitCycles;
      totals.deltaCharged = true;
    }
    const sramBw = hw.sram.bandwidthBytesPerCycle;
    const levelCycles = [
      dramBits / 8 / hw.dram.bandwidthBytesPerCycle,
      (traffic.ifmapPayloadBits + traffic.ifmapMetadataBits) / 8 / sramBw,
      (traffic.filterPayloadBits + traffic.filterMetadataBits) / 8 / sramBw,
      traffic.ofmapBits / 8 / sramBw,
      stateCycles,
      unitCycles,
    ];
    // Timeloop's slowdown rule: the step lasts as long as its slowest level.
    const cycles = levelCycles.reduce((slowest, c) => Math.max(slowest, Math.ceil(c)), computeCycles);
    energy.leakage = leakageEnergy(hw.leakageMw, cycles, hw.clockHz);

    totals.macs += macs;
    totals.executed += executed;
    totals.gated += gated;
    totals.folds += folds;
    totals.cycles += cycles;
    totals.computeCycles += computeCycles;
    totals.denseCycles += denseStepCycles;
    totals.stallCycles += cycles - computeCycles;
    const zeroDelta = options.delta && !input.keyFrame;
    totals.skipped.zeroActivation += zeroDelta ? 0 : zeroA;
    totals.skipped.zeroDelta += zeroDelta ? zeroA : 0;
    totals.skipped.zeroWeight += zeroB;
    totals.skipped.structural += structural;
    for (const key of ENERGY_COMPONENTS) totals.energy[key] += energy[key];
    return {
      macs,
      executedMacs: executed,
      cycles,
      computeCycles,
      denseCycles: denseStepCycles,
      ...(verify ? { verify } : {}),
    };
  }

  function report(): LayerReport {
    const e = totals.energy;
    const energyPj: Record<string, number> = {};
    let total = 0;
    for (const key of ENERGY_COMPONENTS) {
      // Absent = not modelled: delta state only in delta mode, leakage only with a leakage figure.
      if (key === 'deltaState' && !totals.deltaCharged) continue;
      if (key === 'leakage' && hw.leakageMw === 0) continue;
      energyPj[key] = e[key];
      total += e[key];
    }
    return {
      name: spec.name,
      op: spec.op,
      gemms: low.instances,
      macs: totals.macs,
      executedMacs: totals.executed,
      gatedMacs: totals.gated,
      skippedMacs: { ...totals.skipped },
      folds: totals.folds,
      cycles: totals.cycles,
      denseCycles: totals.denseCycles,
      stallCycles: totals.stallCycles,
      utilization: utilizationOf(totals.executed, totals.cycles, array),
      mappingEfficiency: mappingEfficiency(mapping, array),
      energyPj: { ...energyPj, total } as EnergyPj,
      ...(bins > 0 ? { laneWorkHistogram: [...totals.histogram] } : {}),
    };
  }

  return { lowered: low, step, report };
}

/**
 * Whether a step's MAC counts and lane timing have the dense closed form: no operand has a zero
 * the array acts on (its support is `none`, or its mask is absent = all ones and no structural zero
 * sits on it), and no structural zero is skipped. Then every MAC executes ungated, nothing is
 * skipped, and every fold streams its whole temporal extent.
 */
function isDenseStep(low: LoweredSparseLayer, policy: OperandPolicy, input: ReplayStepInput): boolean {
  const aStructure = low.hasPadding || low.operandCausal;
  const aDense = policy.aSupport === 'none' || (input.aMask === undefined && !aStructure);
  const bDense = policy.bSupport === 'none' || input.bMask === undefined;
  const structureKept = !policy.structuralSkip || !(aStructure || low.outputCausal);
  return aDense && bDense && structureKept;
}

/** One instance of a dense step: all MACs executed; lanes all ones (null bit matrices). */
function denseInstance(low: LoweredSparseLayer, dataflow: Dataflow): PreparedInstance {
  const { m, n, k } = low.gemm;
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

/** One layer of an in-memory replay source. */
export interface ReplayLayerSource {
  readonly spec: SparseLayerSpec;
  readonly options: LayerReplayOptions;
  readonly steps: Iterable<ReplayStepInput>;
}

export interface ReplayRunConfig {
  readonly hardware: HardwareModel;
  readonly sources: readonly string[];
  readonly toolVersion: string;
  readonly steps: number;
  readonly model?: string;
}

/** The run-start event of a replay (shared by the pure generator and the streaming edge). */
export function replayRunStart(layers: readonly SparseLayerSpec[], config: ReplayRunConfig): RunEvent {
  return {
    type: 'run-start',
    command: 'replay',
    sources: config.sources,
    hardware: summarizeHardware(config.hardware),
    layers: layers.map((l) => ({
      name: l.name,
      op: l.op,
      macs: l.gemm.m * l.gemm.n * l.gemm.k * l.gemmCount * config.steps,
    })),
    steps: config.steps,
    ...(config.model !== undefined ? { model: config.model } : {}),
    backend: config.hardware.deltaMode ? 'sparse replay (delta mode)' : 'sparse replay',
  };
}

export function replayReport(layers: readonly LayerReport[], config: ReplayRunConfig): Report {
  return {
    tool: 'deltasim',
    version: config.toolVersion,
    command: 'replay',
    sources: config.sources,
    hardware: summarizeHardware(config.hardware),
    layers,
    total: reportTotal(layers, config.hardware.array),
  };
}

/**
 * Replays in-memory layers: run-start, then per layer layer-start → layer-progress (one per step,
 * with the step's executed fraction) → layer-done, then run-done; returns the report. Pure.
 */
export function* replayRun(
  layers: readonly ReplayLayerSource[],
  config: ReplayRunConfig,
): Generator<RunEvent, Report, void> {
  yield replayRunStart(
    layers.map((l) => l.spec),
    config,
  );
  const reports: LayerReport[] = [];
  for (const [index, layer] of layers.entries()) {
    yield { type: 'layer-start', index, name: layer.spec.name };
    const replay = createLayerReplay(layer.spec, config.hardware, layer.options);
    let done = 0;
    for (const input of layer.steps) {
      const outcome = replay.step(input);
      done++;
      yield {
        type: 'layer-progress',
        index,
        done,
        total: config.steps,
        unit: 'steps',
        executedFraction: outcome.macs > 0 ? outcome.executedMacs / outcome.macs : 0,
      };
    }
    const report = replay.report();
    reports.push(report);
    yield { type: 'layer-done', index, layer: report };
  }
  const report = replayReport(reports, config);
  yield { type: 'run-done', report };
  return report;
}
