import { createComputeStage } from './compute-stage.js';
import { mapGemm, mappingEfficiency } from './dataflow-mapping.js';
import { energyStage } from './energy-stage.js';
import { type RunEvent, runEvents } from './events.js';
import {
  denseBaselineOf,
  type HardwareModel,
  type StorageFormat,
  skipsAnything,
  summarizeHardware,
  uniformHardware,
} from './hardware.js';
import { type ReconstructedOperands, reconstructedOperands, weightResidency } from './layer-plan.js';
import { levelStage } from './level-stage.js';
import { createLevelTotals } from './level-totals.js';
import type { StorageLevel } from './levels.js';
import { ENERGY_COMPONENTS, type EnergyPj, type LayerReport, type Report } from './report.js';
import { reportTotal, timingFigures, utilizationOf } from './report-total.js';
import { zeroEnergy } from './sparse/energy.js';
import {
  type BOperand,
  type LoweredSparseLayer,
  lowerSparseLayer,
  type SparseLayerSpec,
} from './sparse/layer-lowering.js';
import type { LaneOperands } from './sparse/operand-bits.js';
import { createLayerVerifier, type VerifyOutcome, type VerifyValues } from './sparse/verify.js';
import { createTrafficStage } from './traffic-stage.js';
import { createVectorLayerReplay } from './vector-layer.js';
import type { ElementwiseLayerSpec } from './vector-unit.js';

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
  /**
   * The outputs' zero mask when it is known (the consumer's input, after its activation function):
   * outputs are then written to DRAM under the activations' format (traffic-stage.ts).
   */
  readonly outputMask?: Uint8Array;
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
  /**
   * Operands that are a delta layer's output, read densely from its state (layer-plan.ts,
   * `reconstructedOperands`); default none. The baseline has no delta layers and ignores it.
   */
  readonly reconstructed?: ReconstructedOperands;
  /** Also run the dense baseline (same hardware, sparsity off) beside every step; default true. */
  readonly baseline?: boolean;
  /** This layer's A operand is stored in this format instead of the activations' (traffic-stage.ts). */
  readonly inputFormat?: StorageFormat;
}

export type WeightResidency = 'step' | 'sequence' | 'run';

/** A step's verification tally while its instances are checked. */
type StepVerify = {
  compared: number;
  mismatches: number;
  maxRelativeError: number;
  first?: VerifyOutcome['first'];
};

/** The dense baseline's step inputs (no masks): two constants, not an object per step. */
const BASELINE_STEP: ReplayStepInput = { keyFrame: true };
const BASELINE_NEW_SEQUENCE: ReplayStepInput = { keyFrame: true, newSequence: true };

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
  /** The GEMM lowering (absent for an element-wise layer: it runs on the vector unit). */
  readonly lowered?: LoweredSparseLayer;
  step(input: ReplayStepInput): StepOutcome;
  report(): LayerReport;
}

/**
 * Lowerings by layer spec (a spec is read-only): a layer replayed on many designs — a sweep's worker
 * keeps its trace's manifest — and beside its dense baseline is lowered once.
 */
const lowerings = new WeakMap<SparseLayerSpec, Partial<Record<BOperand, LoweredSparseLayer>>>();

function loweredOnce(spec: SparseLayerSpec, bOperand: BOperand): LoweredSparseLayer {
  let bySide = lowerings.get(spec);
  if (!bySide) {
    bySide = {};
    lowerings.set(spec, bySide);
  }
  bySide[bOperand] ??= lowerSparseLayer(spec, bOperand);
  return bySide[bOperand];
}

/**
 * The replay of one layer across steps: a pure accumulator (no I/O; the caller feeds masks one
 * step at a time, so memory stays O(layer)). Timing, memory, stalls and energy per docs/model.md.
 */
export function createLayerReplay(
  spec: SparseLayerSpec & Partial<Pick<ElementwiseLayerSpec, 'outputShape' | 'elementwiseOps'>>,
  design: HardwareModel,
  options: LayerReplayOptions,
): LayerReplay {
  if (spec.op === 'elementwise') return createVectorLayerReplay(spec, design);
  // One hidden class for every design and its dense baseline (the stages below run per step).
  const hw = uniformHardware(design);
  const low = loweredOnce(spec, options.bOperand);
  const { array, dataflow } = hw;
  const mapping = mapGemm(low.gemm, array, dataflow);
  const eventDriven = hw.arrayKind === 'event-driven';
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
  const bins = options.histogramBins ?? 0;
  const compute = createComputeStage(low, hw, {
    delta: options.delta,
    histogramBins: bins,
    ...(options.bitLevel !== undefined ? { bitLevel: options.bitLevel } : {}),
  });
  const trafficStage = createTrafficStage(low, hw, mapping, {
    delta: options.delta,
    ...(options.reconstructed ? { reconstructed: options.reconstructed } : {}),
    ...(options.inputFormat ? { inputFormat: options.inputFormat } : {}),
  });
  const verifier = createLayerVerifier(low, dataflow, options.delta, skipsAnything(hw));

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
    levels: createLevelTotals(),
  };

  // The step being verified (set only while a step with values runs): one callback for the layer,
  // not a closure per step.
  let verifying: { input: ReplayStepInput; values: VerifyValues; verify: StepVerify } | undefined;
  const checkInstance = (i: number, lanes: LaneOperands): void => {
    if (!verifying) return;
    const { input, values, verify } = verifying;
    const outcome = verifier.check(i, lanes, values, input.keyFrame);
    verify.compared += outcome.compared;
    verify.mismatches += outcome.mismatches;
    verify.maxRelativeError = Math.max(verify.maxRelativeError, outcome.maxRelativeError);
    if (!verify.first && outcome.first) verify.first = outcome.first;
  };

  function step(input: ReplayStepInput): StepOutcome {
    const values = input.values;
    const verify: StepVerify | undefined = values
      ? { compared: 0, mismatches: 0, maxRelativeError: 0 }
      : undefined;
    verifying = values && verify ? { input, values, verify } : undefined;
    const work = compute.run(input, totals.histogram, checkInstance);
    verifying = undefined;
    const { macs, executedMacs: executed, gatedMacs: gated, computeCycles } = work;
    const reload =
      stepsRun === 0 || residency === 'step' || (residency === 'sequence' && input.newSequence === true);
    stepsRun++;
    // One literal of one shape (absent fields undefined, which the stage reads as absent): the
    // conditional spreads it replaced built several objects per layer-step.
    const traffic = trafficStage.run({
      aMask: input.aMask,
      bMask: input.bMask,
      keyFrame: input.keyFrame,
      reloadWeight: reload,
      executedMacs: executed,
      aNonzeros: work.aNonzeros,
      events: work.events,
      structuredWeights: work.structuredWeights,
      outputMask: input.outputMask,
    });
    if (traffic.deltaState) totals.deltaCharged = true;
    const { levels, cycles, bound } = levelStage(hw, {
      computeCycles,
      executedMacs: executed,
      gatedMacs: gated,
      traffic,
    });
    const energy = energyStage(hw, { executedMacs: executed, gatedMacs: gated, traffic, cycles });
    const dram = levels[0]!;
    const { zeroA, zeroB, structural, folds } = work;

    const base = baseline?.step(input.newSequence ? BASELINE_NEW_SEQUENCE : BASELINE_STEP);
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
    let energyPj = 0;
    for (let c = 0; c < ENERGY_COMPONENTS.length; c++) {
      const key = ENERGY_COMPONENTS[c]!;
      totals.energy[key] += energy[key];
      energyPj += energy[key];
    }
    totals.residentSavedBits += traffic.residentSavedBits;
    totals.levels.add(levels, bound);
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
      if (key === 'vector') continue;
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
        dramBytes: (levelTotals.bits('dram').readBits + levelTotals.bits('dram').writeBits) / 8,
        baselineDramBytes: totals.baselineDramBits / 8,
        residentSavedDramBytes: totals.residentSavedBits / 8,
      }),
      utilization: utilizationOf(totals.executed, totals.cycles, array),
      mappingEfficiency: eventDriven ? 1 : mappingEfficiency(mapping, array),
      energyPj: { ...energyPj, total } as EnergyPj,
      ...(bins > 0 ? { laneWorkHistogram: [...totals.histogram] } : {}),
      levels: levelTotals.report(),
    };
  }

  return { lowered: low, step, report };
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
  const reconstructed = reconstructedOperands(layers.map((l) => ({ spec: l.spec, plan: l.options })));
  for (const [index, layer] of layers.entries()) {
    yield runEvents.layerStart(index, layer.spec.name);
    const replay = createLayerReplay(layer.spec, config.hardware, {
      weightResidency: residency[index]!,
      reconstructed: reconstructed[index]!,
      ...layer.options,
    });
    let done = 0;
    for (const input of layer.steps) {
      const outcome = replay.step(input);
      done++;
      yield runEvents.stepDone(index, done, config.steps, outcome);
    }
    const report = replay.report();
    reports.push(report);
    yield runEvents.layerDone(index, report);
  }
  const report = replayReport(reports, config);
  yield runEvents.runDone(report);
  return report;
}
