import type { Dataflow } from './array.js';
import { DATAFLOW_ROLES, mapGemm, mappingEfficiency } from './dataflow-mapping.js';
import type { RunEvent } from './events.js';
import { createFoldSequence } from './fold-overlap.js';
import {
  denseBaselineOf,
  type HardwareModel,
  PSUM_BITS,
  skipsAnything,
  summarizeHardware,
} from './hardware.js';
import { weightResidency } from './layer-plan.js';
import {
  LEVEL_NAMES,
  type LevelName,
  type LevelReport,
  levelCycles,
  type StorageLevel,
  slowestLevel,
} from './levels.js';
import { ENERGY_COMPONENTS, type EnergyPj, type LayerReport, type Report } from './report.js';
import { reportTotal, timingFigures, utilizationOf } from './report-total.js';
import { packedPopcount } from './sparse/bits.js';
import { deltaStateCost } from './sparse/delta-state.js';
import {
  computeEnergy,
  type EnergyParts,
  leakageEnergy,
  memoryEnergy,
  wordBits,
  zeroEnergy,
} from './sparse/energy.js';
import { addEventHistogram, addEventInstance, createEventWork, eventCycles } from './sparse/event-timing.js';
import { denseLaneTiming, type LaneTiming, laneTiming } from './sparse/lane-timing.js';
import {
  type BOperand,
  type LoweredSparseLayer,
  lowerSparseLayer,
  type SparseLayerSpec,
} from './sparse/layer-lowering.js';
import { denseStats, layerTraffic, maskStats, storedBits, type TensorStats } from './sparse/memory.js';
import {
  createOperandCache,
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
  /** The step opens a new sequence (clip); weights resident per clip are reloaded there. */
  readonly newSequence?: boolean;
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
  /**
   * How often a static weight is read from DRAM (residency.ts): every `step` (default), once per
   * `sequence`, or once per `run`. Only a weight that fits the filter buffer can stay.
   */
  readonly weightResidency?: WeightResidency;
  /** Also run the dense baseline (same hardware, sparsity off) beside every step; default true. */
  readonly baseline?: boolean;
}

export type WeightResidency = 'step' | 'sequence' | 'run';

export interface StepOutcome {
  readonly macs: number;
  readonly executedMacs: number;
  readonly cycles: number;
  readonly computeCycles: number;
  readonly denseCycles: number;
  /** What set the step's cycles: `compute`, `delta-unit` or a level name. */
  readonly bound: string;
  readonly levels: readonly StorageLevel[];
  readonly energyPj: number;
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
  const overlap = hw.overlap ?? 'none';
  const eventDriven = hw.arrayKind === 'event-driven';
  const pes = array.rows * array.cols;
  const residency = options.bOperand === 'weight' ? (options.weightResidency ?? 'step') : 'step';
  const baseline =
    options.baseline === false
      ? undefined
      : createLayerReplay(spec, denseBaselineOf(hw), {
          bOperand: options.bOperand,
          delta: false,
          baseline: false,
          weightResidency: residency,
        });
  let stepsRun = 0;
  const bits = wordBits(hw.precision);
  const structuralSkip = skipsAnything(hw);
  const bSupport = options.bOperand === 'rhs' ? hw.support.activations : hw.support.weights;
  const bins = options.histogramBins ?? 0;
  let staticBStats: TensorStats | undefined;
  // A static weight's bit structures are built once and reused by every step.
  const staticB = new Map<number, PreparedB>();
  // Per-layer operand setup (gather plan, padding counts, scratch bits) reused by every step.
  const operandCache = createOperandCache(low);
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
    baselineCycles: 0,
    baselineComputeCycles: 0,
    baselineEnergyPj: 0,
    baselineDramBits: 0,
    residentSavedBits: 0,
    levels: new Map<
      LevelName,
      { capacityBytes: number; readBits: number; writeBits: number; cycles: number; boundSteps: number }
    >(),
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
      histogramBins: eventDriven ? 0 : bins,
      sequence: createFoldSequence(array, dataflow, overlap),
    };
    const events = createEventWork(eventDriven ? pes : 0);
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
        prepared = prepareInstance(low, i, aMask, bMask, policy, preparedB, operandCache);
        timing = laneTiming(prepared.lanes, timingOptions);
      }
      if (eventDriven) {
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
      executed += c.executed;
      gated += c.gated;
      zeroA += c.zeroA;
      zeroB += c.zeroB;
      structural += c.structural;
      folds += eventDriven ? 0 : timing.folds;
      if (!eventDriven) for (let b = 0; b < bins; b++) totals.histogram[b]! += timing.histogram[b]!;
      if (input.values && verify) {
        const outcome = verifier.check(i, prepared.lanes, input.values, input.keyFrame);
        verify.compared += outcome.compared;
        verify.mismatches += outcome.mismatches;
        verify.maxRelativeError = Math.max(verify.maxRelativeError, outcome.maxRelativeError);
        if (!verify.first && outcome.first) verify.first = outcome.first;
      }
    }
    const macs = low.instances * M * N * low.gemm.k;
    const aStatsForEvents = input.aMask ? packedPopcount(input.aMask, low.inputElements) : low.inputElements;
    // Every input element the array does not skip is an event; with no A skipping all of them are.
    const eventCount = policy.aSupport === 'skip' ? aStatsForEvents : low.inputElements;
    if (eventDriven) {
      computeCycles = eventCycles(events, eventCount, hw.eventDispatchCycles ?? 1);
      addEventHistogram(totals.histogram, events);
    } else {
      computeCycles = timingOptions.sequence.cycles();
    }

    // Traffic: stored sizes under the formats, bits per level.
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
    const bStored = storedBits(bFormat, bStats, bits, hw.rleRunBits);
    const bFits = (bStored.payloadBits + bStored.metadataBits) / 8 <= hw.sram.filterBytes;
    const reload =
      stepsRun === 0 || residency === 'step' || (residency === 'sequence' && input.newSequence === true);
    const traffic = layerTraffic({
      dataflow,
      gemm: low.gemm,
      instances: low.instances,
      rowFolds: mapping.rowFolds,
      colFolds: mapping.colFolds,
      a: storedBits(hw.formats.activations, aStats, bits, hw.rleRunBits),
      aElements: low.inputElements,
      b: bStored,
      bElements: low.bElements,
      outputElements: low.outputElements,
      wordBits: bits,
      sram: hw.sram,
      bResident: bFits && !reload,
      aOnChip: options.delta,
      outputsToDram: !options.delta,
      psumsInOfmap: !options.delta,
      ...(eventDriven ? { eventReads: { aElements: eventCount, bElements: executed } } : {}),
    });
    stepsRun++;
    const energy: EnergyParts = {
      ...zeroEnergy(),
      ...computeEnergy(hw.energy, { executedMacs: executed, gatedMacs: gated, precision: hw.precision }),
      ...memoryEnergy(hw.energy, traffic, hw.sram),
    };
    let dram = traffic.dram;
    let state = { readBits: 0, writeBits: 0, metadataBits: 0 };
    let unitCycles = 0;
    if (options.delta) {
      const cost = deltaStateCost({
        inputElements: low.inputElements,
        outputElements: low.outputElements,
        touchedOutputs: touchedOutputs(low, input, executed),
        changedInputs: aStatsForEvents,
        psumPasses: dataflow === 'os' ? 1 : mapping.rowFolds,
        wordBits: bits,
        keyFrame: input.keyFrame,
        stateMemory: hw.stateMemory,
        table: hw.energy,
        precision: hw.precision,
        lanes: array.cols,
      });
      energy.deltaState = cost.energyPj;
      if (cost.onChip) state = { ...cost.access };
      else
        dram = {
          readBits: dram.readBits + cost.access.readBits,
          writeBits: dram.writeBits + cost.access.writeBits,
          metadataBits: dram.metadataBits,
        };
      unitCycles = cost.unitCycles;
      totals.deltaCharged = true;
    }
    const sramBw = hw.sram.bandwidthBytesPerCycle;
    const levels: StorageLevel[] = [
      {
        name: 'dram',
        capacityBytes: Number.POSITIVE_INFINITY,
        bandwidthBytesPerCycle: hw.dram.bandwidthBytesPerCycle,
        ...dram,
      },
      { name: 'ifmap', capacityBytes: hw.sram.ifmapBytes, bandwidthBytesPerCycle: sramBw, ...traffic.ifmap },
      // Event-driven PEs hold their weights locally (the filter memory split over the PEs): each
      // reads one weight per cycle, so the weight reads never outpace the PEs themselves.
      {
        name: 'filter',
        capacityBytes: hw.sram.filterBytes,
        bandwidthBytesPerCycle: eventDriven ? Math.max(sramBw, (pes * bits) / 8) : sramBw,
        ...traffic.filter,
      },
      { name: 'ofmap', capacityBytes: hw.sram.ofmapBytes, bandwidthBytesPerCycle: sramBw, ...traffic.ofmap },
    ];
    if (options.delta) {
      levels.push({
        name: 'state',
        capacityBytes: hw.stateMemory.bytes,
        bandwidthBytesPerCycle: hw.stateMemory.bandwidthBytesPerCycle,
        ...state,
      });
    }
    // PE registers: two operand reads and one partial-sum write per ungated MAC, one word each, at
    // the PEs' own pace (never a bound: they are part of the compute).
    levels.push({
      name: 'registers',
      capacityBytes: Number.POSITIVE_INFINITY,
      bandwidthBytesPerCycle: Number.POSITIVE_INFINITY,
      readBits: 2 * (executed - gated) * bits,
      writeBits: (executed - gated) * PSUM_BITS,
      metadataBits: 0,
    });
    // Timeloop's slowdown rule: the step lasts as long as its slowest level.
    const { cycles, bound } = slowestLevel(computeCycles, levels, { 'delta-unit': unitCycles });
    energy.leakage = leakageEnergy(hw.leakageMw, cycles, hw.clockHz);

    const base = baseline?.step({ keyFrame: true, ...(input.newSequence ? { newSequence: true } : {}) });
    totals.macs += macs;
    totals.executed += executed;
    totals.gated += gated;
    totals.folds += folds;
    totals.cycles += cycles;
    totals.computeCycles += computeCycles;
    totals.denseCycles += base ? base.computeCycles : computeCycles;
    totals.stallCycles += cycles - computeCycles;
    const zeroDelta = options.delta && !input.keyFrame;
    totals.skipped.zeroActivation += zeroDelta ? 0 : zeroA;
    totals.skipped.zeroDelta += zeroDelta ? zeroA : 0;
    totals.skipped.zeroWeight += zeroB;
    totals.skipped.structural += structural;
    for (const key of ENERGY_COMPONENTS) totals.energy[key] += energy[key];
    let energyPj = 0;
    for (const key of ENERGY_COMPONENTS) energyPj += energy[key];
    totals.residentSavedBits += traffic.residentSavedBits;
    for (const level of levels) {
      const t = totals.levels.get(level.name) ?? {
        capacityBytes: level.capacityBytes,
        readBits: 0,
        writeBits: 0,
        cycles: 0,
        boundSteps: 0,
      };
      t.readBits += level.readBits;
      t.writeBits += level.writeBits;
      t.cycles += levelCycles(level);
      if (bound === level.name) t.boundSteps++;
      totals.levels.set(level.name, t);
    }
    totals.baselineCycles += base ? base.cycles : cycles;
    totals.baselineComputeCycles += base ? base.computeCycles : computeCycles;
    totals.baselineEnergyPj += base ? base.energyPj : energyPj;
    totals.baselineDramBits += base
      ? base.levels[0]!.readBits + base.levels[0]!.writeBits
      : dram.readBits + dram.writeBits;
    return {
      macs,
      executedMacs: executed,
      cycles,
      computeCycles,
      denseCycles: base ? base.computeCycles : computeCycles,
      bound,
      levels,
      energyPj,
      ...(verify ? { verify } : {}),
    };
  }

  function report(): LayerReport {
    const levelTotals = totals.levels;
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
      denseCycles: totals.denseCycles,
      ...timingFigures({
        cycles: totals.cycles,
        computeCycles: totals.computeCycles,
        stallCycles: totals.stallCycles,
        baselineCycles: totals.baselineCycles,
        baselineComputeCycles: totals.baselineComputeCycles,
        baselineEnergyPj: totals.baselineEnergyPj,
        dramBytes:
          (levelTotals.get('dram')?.readBits ?? 0) / 8 + (levelTotals.get('dram')?.writeBits ?? 0) / 8,
        baselineDramBytes: totals.baselineDramBits / 8,
        residentSavedDramBytes: totals.residentSavedBits / 8,
      }),
      utilization: utilizationOf(totals.executed, totals.cycles, array),
      mappingEfficiency: eventDriven ? 1 : mappingEfficiency(mapping, array),
      energyPj: { ...energyPj, total } as EnergyPj,
      ...(bins > 0 ? { laneWorkHistogram: [...totals.histogram] } : {}),
      levels: LEVEL_NAMES.filter((name) => levelTotals.has(name)).map((name): LevelReport => {
        const l = levelTotals.get(name)!;
        return {
          name,
          capacityBytes: Number.isFinite(l.capacityBytes) ? l.capacityBytes : null,
          readBytes: l.readBits / 8,
          writeBytes: l.writeBits / 8,
          cycles: l.cycles,
          boundSteps: l.boundSteps,
        };
      }),
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

/**
 * Outputs at least one event reaches (delta state is read and written only there): per instance,
 * the rows m whose A row has a non-zero, non-structural entry, times the outputs of that row.
 * Exact when the weights have no zero column for that row's events; an upper bound otherwise.
 * No mask (dense) or no MAC executed: every output, or none.
 */
function touchedOutputs(low: LoweredSparseLayer, input: ReplayStepInput, executed: number): number {
  if (executed === 0) return 0;
  const aMask = input.aMask;
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
  const residency = weightResidency(
    layers.map((l) => (l.options.bOperand === 'weight' ? l.spec : null)),
    config.hardware,
  );
  for (const [index, layer] of layers.entries()) {
    yield { type: 'layer-start', index, name: layer.spec.name };
    const replay = createLayerReplay(layer.spec, config.hardware, {
      weightResidency: residency[index]!,
      ...layer.options,
    });
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
