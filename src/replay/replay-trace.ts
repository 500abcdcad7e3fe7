import { type RunEvent, runEvents } from '../core/events.js';
import type { HardwareModel } from '../core/hardware.js';
import {
  isNewSequence,
  type LayerPlan,
  planLayer,
  type ReconstructedOperands,
  reconstructedOperands,
  weightResidency,
} from '../core/layer-plan.js';
import {
  createLayerReplay,
  type LayerReplay,
  type ReplayRunConfig,
  type ReplayStepInput,
  replayReport,
  replayRunStart,
  type WeightResidency,
} from '../core/replay-engine.js';
import type { LayerReport, Report } from '../core/report.js';
import { inexactReport } from '../core/report-total.js';
import { isMacOp } from '../core/sparse/layer-lowering.js';
import { storageErrorBound, type VerifyOutcome } from '../core/sparse/verify.js';
import { type TraceLayer, tensorName } from '../trace/manifest.js';
import { replayOperands } from '../trace/manifest-check.js';
import type { TraceReader } from '../trace/reader.js';
import { TraceError } from '../trace/trace-error.js';
import { checkTensorData } from '../trace/validate.js';

/** A layer-step whose scheduled outputs did not match the dense product. */
export interface VerifyFailure {
  readonly layer: string;
  readonly step: number;
  readonly mismatches: number;
  readonly maxRelativeError: number;
  readonly detail: string;
}

/** Adds a step's `--verify` mismatches (if any) to `failures`, with its first differing output. */
export function recordVerifyFailure(
  failures: VerifyFailure[],
  layer: string,
  step: number,
  outcome: { readonly verify?: VerifyOutcome },
): void {
  const verify = outcome.verify;
  if (!verify || verify.mismatches === 0) return;
  const first = verify.first;
  failures.push({
    layer,
    step,
    mismatches: verify.mismatches,
    maxRelativeError: verify.maxRelativeError,
    detail: first
      ? `instance ${first.instance} output (${first.m}, ${first.n}): scheduled ${first.got}, dense ${first.expected}`
      : '',
  });
}

export interface ReplayTraceOptions {
  readonly hardware: HardwareModel;
  readonly toolVersion: string;
  readonly verify: boolean;
  /** Receives every event as it happens (progress included). */
  readonly onEvent: (event: RunEvent) => void;
  /** Histogram bins of lane work per layer (0 = off). */
  readonly histogramBins?: number;
  /**
   * Stops the replay (rejecting with the signal's reason) at the next step. With a signal the replay
   * also gives the event loop a turn after every step, so a live front end redraws and reads keys
   * and Ctrl-C gets through while a long layer runs; the figures are the same either way.
   */
  readonly signal?: AbortSignal;
  /**
   * Reads a tensor's mask once its data passed the checks (default `checkTensorData`). A caller that
   * replays one trace on many designs passes one that remembers what it checked (src/sweep/trace-cache.ts).
   */
  readonly checkedMask?: (reader: TraceReader, name: string) => Promise<Uint8Array>;
}

/** Lets timers, I/O and signal handlers run (a macrotask: promise continuations alone would not). */
export function yieldTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export interface ReplayTraceResult {
  readonly report: Report;
  readonly verifyFailures: readonly VerifyFailure[];
  /** Layers run in delta mode (y_t = y_{t−1} + W·Δ_t). */
  readonly deltaLayers: readonly string[];
}

/** Per-element bound on the storage error of `values` (tensor `name`); undefined when stored exactly. */
function storageError(reader: TraceReader, name: string, values: Float32Array): Float32Array | undefined {
  const { dtype } = reader.info(name);
  if (dtype === 'F16') return storageErrorBound(values, { kind: 'f16' });
  if (dtype === 'I8') return storageErrorBound(values, { kind: 'int8', scale: reader.scaleOf(name) ?? 0 });
  return undefined;
}

/** Packed mask of q_t ≠ q_{t−1} (for delta mode on a trace that stores no `delta` tensors). */
function changeMask(current: Float32Array, previous: Float32Array | undefined): Uint8Array {
  const out = new Uint8Array(Math.ceil(current.length / 8));
  for (let i = 0; i < current.length; i++) {
    if (previous === undefined ? current[i] !== 0 : current[i] !== previous[i]) out[i >>> 3]! |= 1 << (i & 7);
  }
  return out;
}

/**
 * Replays one trace on one hardware model, a layer at a time and a step at a time: memory stays
 * O(largest layer) whatever the trace length. Every operand tensor it uses passes the data rules of
 * `trace validate` first (checksums, no NaN/Inf, mask equal to the values): the masks drive the timing. Delta mode (hw.deltaMode) applies to layers with a
 * static weight; it uses a layer's `delta` tensors, or derives Δ masks from consecutive `input`
 * values when the trace has none.
 */
export async function replayTrace(
  reader: TraceReader,
  options: ReplayTraceOptions,
): Promise<ReplayTraceResult> {
  const run = prepareReplayRun(reader, options.hardware, options.toolVersion);
  options.onEvent(run.start);
  const reports: LayerReport[] = [];
  const failures: VerifyFailure[] = [];
  for (let index = 0; index < run.layers.length; index++) {
    reports.push(await replayRunLayer(reader, run, index, options, failures));
  }
  const report = finishReplayRun(reader.path, run, reports);
  options.onEvent(runEvents.runDone(report));
  return { report, verifyFailures: failures, deltaLayers: run.deltaLayers };
}

/**
 * What one replay run decides before any layer runs: its MAC layers, how each is replayed and
 * placed, and its run-start event. Each layer then replays on its own (`replayRunLayer`), so the
 * layers of a run can be shared among worker threads (./worker-driver.ts) and the reports merged
 * in layer order (`finishReplayRun`) come out the same.
 */
export interface ReplayRun {
  /** The run's layers in manifest order: MAC layers and element-wise (vector-unit) layers. */
  readonly layers: readonly TraceLayer[];
  /** Each layer's index in the manifest (for error locations). */
  readonly manifestIndex: readonly number[];
  /** Per layer; absent for element-wise layers, which the vector unit times from the manifest. */
  readonly plans: readonly (LayerPlan | undefined)[];
  readonly placements: readonly (
    | {
        readonly weightResidency: WeightResidency;
        readonly reconstructed: ReconstructedOperands;
      }
    | undefined
  )[];
  readonly config: ReplayRunConfig;
  readonly start: RunEvent;
  /** Layers run in delta mode (y_t = y_{t−1} + W·Δ_t). */
  readonly deltaLayers: readonly string[];
}

export function prepareReplayRun(reader: TraceReader, hw: HardwareModel, toolVersion: string): ReplayRun {
  const { manifest } = reader;
  // Element-wise layers run on the vector unit (core/vector-layer.ts): timed and reported in order.
  const runLayers = manifest.layers
    .map((layer, index) => ({ layer, index }))
    .filter(({ layer }) => isMacOp(layer.op) || layer.op === 'elementwise');
  const macLayers = runLayers.filter(({ layer }) => isMacOp(layer.op));
  const config: ReplayRunConfig = {
    hardware: hw,
    sources: [reader.path],
    toolVersion,
    steps: manifest.steps.length,
    model: manifest.model.name,
  };
  const macSpecs = macLayers.map(({ layer }) => layer);
  // The reader checked the roles at open (checkReplayable): this only reads what it established.
  const macPlans = macLayers.map(({ layer, index }) =>
    planLayer(replayOperands(reader.path, `manifest.layers[${index}]`, layer), hw, manifest.steps.length),
  );
  const residency = weightResidency(
    macSpecs.map((layer, i) => (macPlans[i]!.bOperand === 'weight' ? layer : null)),
    hw,
  );
  const reconstructed = reconstructedOperands(
    macSpecs.map((layer, i) => ({ spec: layer, plan: macPlans[i]! })),
  );
  const macSlot = new Map(macLayers.map(({ index }, i) => [index, i]));
  const slotOf = ({ index }: { index: number }): number | undefined => macSlot.get(index);
  const layers = runLayers.map(({ layer }) => layer);
  return {
    layers,
    manifestIndex: runLayers.map(({ index }) => index),
    plans: runLayers.map((l) => {
      const i = slotOf(l);
      return i === undefined ? undefined : macPlans[i];
    }),
    placements: runLayers.map((l) => {
      const i = slotOf(l);
      return i === undefined
        ? undefined
        : { weightResidency: residency[i]!, reconstructed: reconstructed[i]! };
    }),
    config,
    start: replayRunStart(layers, config),
    deltaLayers: macSpecs.filter((_, i) => macPlans[i]!.delta).map((l) => l.name),
  };
}

/** Replays layer `index` of `run` (its layer-start, per-step progress and layer-done events). */
export async function replayRunLayer(
  reader: TraceReader,
  run: ReplayRun,
  index: number,
  options: ReplayTraceOptions,
  failures: VerifyFailure[],
): Promise<LayerReport> {
  options.signal?.throwIfAborted();
  const layer = run.layers[index]!;
  options.onEvent(runEvents.layerStart(index, layer.name));
  const plan = run.plans[index];
  const placement = run.placements[index];
  const report =
    plan && placement
      ? await replayLayer(reader, layer, index, plan, placement, options, failures)
      : await replayVectorLayer(layer, index, options, run.config.steps);
  options.onEvent(runEvents.layerDone(index, report));
  return report;
}

/** The run's report from its layers' reports, in layer order. */
export function finishReplayRun(path: string, run: ReplayRun, reports: readonly LayerReport[]): Report {
  const report = replayReport(reports, run.config);
  // Counts past 2^53 would print rounded: refused as simulate refuses them (report-total.ts).
  const inexact = inexactReport(report.layers, report.total);
  if (inexact) throw new TraceError(path, ...inexact);
  return report;
}

/** An element-wise layer: no tensors to read, the vector unit's work per step from the manifest. */
async function replayVectorLayer(
  layer: TraceLayer,
  index: number,
  options: ReplayTraceOptions,
  steps: number,
): Promise<LayerReport> {
  const replay = createLayerReplay(layer, options.hardware, { bOperand: 'weight', delta: false });
  for (let t = 0; t < steps; t++) {
    options.onEvent(runEvents.stepDone(index, t + 1, steps, replay.step({ keyFrame: true })));
    if (options.signal) {
      await yieldTurn();
      options.signal.throwIfAborted();
    }
  }
  return replay.report();
}

/** One trace layer over every step (exported for the chunkwise schedule's other layers). */
export function replayLayer(
  reader: TraceReader,
  layer: TraceLayer,
  index: number,
  plan: LayerPlan,
  placement: { readonly weightResidency: WeightResidency; readonly reconstructed: ReconstructedOperands },
  options: ReplayTraceOptions,
  failures: VerifyFailure[],
): Promise<LayerReport> {
  // openTrace checked the roles, the lowering and the tensor sizes (checkReplayable): one rule set.
  const replay = createLayerReplay(layer, options.hardware, {
    bOperand: plan.bOperand,
    delta: plan.delta,
    ...placement,
    ...(options.histogramBins ? { histogramBins: options.histogramBins } : {}),
  });
  // The layer is read here, once, not in the step loop: manifest layers have several hidden
  // classes, and the loop's optimized code would be thrown away at each new one.
  const layerName = layer.name;
  const inputRole = layer.roles.includes('input') ? 'input' : 'delta';
  return replaySteps(reader, layerName, inputRole, index, plan, replay, options, failures);
}

async function replaySteps(
  reader: TraceReader,
  layerName: string,
  inputRole: 'input' | 'delta',
  index: number,
  plan: LayerPlan,
  replay: LayerReplay,
  options: ReplayTraceOptions,
  failures: VerifyFailure[],
): Promise<LayerReport> {
  const steps = reader.manifest.steps;
  const { bOperand, delta } = plan;
  const storedDeltas = plan.aSource === 'delta';
  const checkedMask = options.checkedMask ?? checkTensorData;
  let bMask: Uint8Array | undefined;
  let bValues: Float32Array | undefined;
  if (bOperand === 'weight') {
    const name = tensorName(layerName, 'weight');
    bMask = await checkedMask(reader, name);
    if (options.verify) bValues = await reader.readValues(name);
  }
  let previousInput: Float32Array | undefined;
  let deltaSum: Float32Array | undefined;
  for (const step of steps) {
    const t = step.index;
    const newSequence = isNewSequence(steps, t);
    const keyFrame = step.keyFrame || newSequence;
    if (bOperand === 'rhs') {
      const name = tensorName(layerName, 'rhs', t);
      bMask = await checkedMask(reader, name);
      if (options.verify) bValues = await reader.readValues(name);
    }
    const inputName = tensorName(layerName, inputRole, t);
    let aMask: Uint8Array;
    let aValues: Float32Array | undefined;
    let qValues: Float32Array | undefined;
    let aError: Float32Array | undefined;
    let qError: Float32Array | undefined;
    if (delta && storedDeltas) {
      const name = tensorName(layerName, 'delta', t);
      aMask = await checkedMask(reader, name);
      if (options.verify) {
        // Δ_t and q_t were stored separately, each rounded to the trace's precision: verify allows
        // for that (src/core/sparse/verify.ts), so F16 and I8 recordings are judged by what they hold.
        aValues = await reader.readValues(name);
        aError = storageError(reader, name, aValues);
        if (inputRole === 'input') {
          const qName = tensorName(layerName, 'input', t);
          qValues = await reader.readValues(qName);
          qError = storageError(reader, qName, qValues);
        } else {
          // No q_t stored: the reference is the sum of the stored Δs since the key frame.
          deltaSum =
            keyFrame || !deltaSum ? Float32Array.from(aValues) : deltaSum.map((v, i) => v + aValues![i]!);
          qValues = deltaSum;
        }
      }
    } else if (delta) {
      const q = await reader.readValues(inputName);
      aMask = changeMask(q, keyFrame ? undefined : previousInput);
      if (options.verify) {
        aValues = keyFrame || !previousInput ? q : Float32Array.from(q, (v, i) => v - previousInput![i]!);
        qValues = q;
      }
      previousInput = q;
    } else {
      aMask = await checkedMask(reader, inputName);
      if (options.verify) aValues = await reader.readValues(inputName);
    }
    const input: ReplayStepInput = {
      aMask,
      bMask: bMask!,
      keyFrame,
      newSequence,
      ...(options.verify && aValues && bValues
        ? {
            values: {
              a: aValues,
              b: bValues,
              ...(qValues ? { q: qValues } : {}),
              ...(aError ? { aError } : {}),
              ...(qError ? { qError } : {}),
            },
          }
        : {}),
    };
    const outcome = replay.step(input);
    recordVerifyFailure(failures, layerName, t, outcome);
    options.onEvent(runEvents.stepDone(index, t + 1, steps.length, outcome));
    if (options.signal) {
      await yieldTurn();
      options.signal.throwIfAborted();
    }
  }
  return replay.report();
}
