import type { RunEvent } from '../core/events.js';
import type { HardwareModel } from '../core/hardware.js';
import {
  isNewSequence,
  type LayerPlan,
  LayerPlanError,
  planLayer,
  weightResidency,
} from '../core/layer-plan.js';
import type { WeightResidency } from '../core/replay-engine.js';
import {
  createLayerReplay,
  type ReplayStepInput,
  replayReport,
  replayRunStart,
} from '../core/replay-engine.js';
import type { LayerReport, Report } from '../core/report.js';
import { isMacOp, LoweringError } from '../core/sparse/layer-lowering.js';
import { type TraceLayer, tensorName } from '../trace/manifest.js';
import type { TraceReader } from '../trace/reader.js';
import { TraceError } from '../trace/trace-error.js';

/** A layer-step whose scheduled outputs did not match the dense product. */
export interface VerifyFailure {
  readonly layer: string;
  readonly step: number;
  readonly mismatches: number;
  readonly maxRelativeError: number;
  readonly detail: string;
}

export interface ReplayTraceOptions {
  readonly hardware: HardwareModel;
  readonly toolVersion: string;
  readonly verify: boolean;
  /** Receives every event as it happens (progress included). */
  readonly onEvent: (event: RunEvent) => void;
  /** Histogram bins of lane work per layer (0 = off). */
  readonly histogramBins?: number;
}

export interface ReplayTraceResult {
  readonly report: Report;
  readonly verifyFailures: readonly VerifyFailure[];
  /** Layers run in delta mode (y_t = y_{t−1} + W·Δ_t). */
  readonly deltaLayers: readonly string[];
}

/** Packed mask bytes a tensor of `elements` needs; a shorter stored mask is a broken trace. */
function checkMask(reader: TraceReader, name: string, mask: Uint8Array, elements: number): Uint8Array {
  if (mask.length < Math.ceil(elements / 8)) {
    throw new TraceError(
      reader.path,
      `tensor "${name}#mask"`,
      `${mask.length} bytes cannot hold ${elements} mask bits`,
    );
  }
  return mask;
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
 * O(largest layer) whatever the trace length. Delta mode (hw.deltaMode) applies to layers with a
 * static weight; it uses a layer's `delta` tensors, or derives Δ masks from consecutive `input`
 * values when the trace has none.
 */
export async function replayTrace(
  reader: TraceReader,
  options: ReplayTraceOptions,
): Promise<ReplayTraceResult> {
  const { manifest } = reader;
  const hw = options.hardware;
  const steps = manifest.steps;
  const macLayers = manifest.layers
    .map((layer, index) => ({ layer, index }))
    .filter(({ layer }) => isMacOp(layer.op));
  const config = {
    hardware: hw,
    sources: [reader.path],
    toolVersion: options.toolVersion,
    steps: steps.length,
    model: manifest.model.name,
  };
  options.onEvent(
    replayRunStart(
      macLayers.map(({ layer }) => layer),
      config,
    ),
  );
  const plans = macLayers.map(({ layer, index }) => {
    try {
      return planLayer(layer.roles, hw, steps.length);
    } catch (error) {
      if (error instanceof LayerPlanError)
        throw new TraceError(reader.path, `manifest.layers[${index}].${error.field}`, error.message);
      throw error;
    }
  });
  const residency = weightResidency(
    macLayers.map(({ layer }, i) => (plans[i]!.bOperand === 'weight' ? layer : null)),
    hw,
  );
  const reports: LayerReport[] = [];
  const failures: VerifyFailure[] = [];
  const deltaLayers: string[] = [];
  for (const [index, { layer, index: manifestIndex }] of macLayers.entries()) {
    options.onEvent({ type: 'layer-start', index, name: layer.name });
    const plan = plans[index]!;
    if (plan.delta) deltaLayers.push(layer.name);
    const report = await replayLayer(
      reader,
      layer,
      manifestIndex,
      index,
      plan,
      residency[index]!,
      options,
      failures,
    );
    reports.push(report);
    options.onEvent({ type: 'layer-done', index, layer: report });
  }
  const report = replayReport(reports, config);
  options.onEvent({ type: 'run-done', report });
  return { report, verifyFailures: failures, deltaLayers };
}

async function replayLayer(
  reader: TraceReader,
  layer: TraceLayer,
  manifestIndex: number,
  index: number,
  plan: LayerPlan,
  residency: WeightResidency,
  options: ReplayTraceOptions,
  failures: VerifyFailure[],
): Promise<LayerReport> {
  const hw = options.hardware;
  const where = `manifest.layers[${manifestIndex}]`;
  const steps = reader.manifest.steps;
  const { bOperand, delta } = plan;
  const storedDeltas = plan.aSource === 'delta';
  let replay: ReturnType<typeof createLayerReplay>;
  try {
    replay = createLayerReplay(layer, hw, {
      bOperand,
      delta,
      weightResidency: residency,
      ...(options.histogramBins ? { histogramBins: options.histogramBins } : {}),
    });
  } catch (error) {
    if (error instanceof LoweringError)
      throw new TraceError(reader.path, `${where}.${error.field}`, error.message);
    throw error;
  }
  const low = replay.lowered;
  let bMask: Uint8Array | undefined;
  let bValues: Float32Array | undefined;
  if (bOperand === 'weight') {
    const name = tensorName(layer.name, 'weight');
    bMask = checkMask(reader, name, await reader.readMask(name), low.bElements);
    if (options.verify) bValues = await reader.readValues(name);
  }
  let previousInput: Float32Array | undefined;
  for (const step of steps) {
    const t = step.index;
    const newSequence = isNewSequence(steps, t);
    const keyFrame = step.keyFrame || newSequence;
    if (bOperand === 'rhs') {
      const name = tensorName(layer.name, 'rhs', t);
      bMask = checkMask(reader, name, await reader.readMask(name), low.bElements);
      if (options.verify) bValues = await reader.readValues(name);
    }
    const inputName = tensorName(layer.name, layer.roles.includes('input') ? 'input' : 'delta', t);
    let aMask: Uint8Array;
    let aValues: Float32Array | undefined;
    let qValues: Float32Array | undefined;
    if (delta && storedDeltas) {
      const name = tensorName(layer.name, 'delta', t);
      aMask = checkMask(reader, name, await reader.readMask(name), low.inputElements);
      if (options.verify) {
        aValues = await reader.readValues(name);
        qValues = layer.roles.includes('input')
          ? await reader.readValues(tensorName(layer.name, 'input', t))
          : undefined;
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
      aMask = checkMask(reader, inputName, await reader.readMask(inputName), low.inputElements);
      if (options.verify) aValues = await reader.readValues(inputName);
    }
    const input: ReplayStepInput = {
      aMask,
      bMask: bMask!,
      keyFrame,
      newSequence,
      ...(options.verify && aValues && bValues
        ? { values: { a: aValues, b: bValues, ...(qValues ? { q: qValues } : {}) } }
        : {}),
    };
    const outcome = replay.step(input);
    if (outcome.verify && outcome.verify.mismatches > 0) {
      const first = outcome.verify.first;
      failures.push({
        layer: layer.name,
        step: t,
        mismatches: outcome.verify.mismatches,
        maxRelativeError: outcome.verify.maxRelativeError,
        detail: first
          ? `instance ${first.instance} output (${first.m}, ${first.n}): scheduled ${first.got}, dense ${first.expected}`
          : '',
      });
    }
    options.onEvent({
      type: 'layer-progress',
      index,
      done: t + 1,
      total: steps.length,
      unit: 'steps',
      executedFraction: outcome.macs > 0 ? outcome.executedMacs / outcome.macs : 0,
    });
  }
  return replay.report();
}
