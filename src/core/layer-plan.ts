import { PRECISION_BITS } from './energy-table.js';
import type { HardwareModel, Schedule } from './hardware.js';
import type { WeightResidency } from './replay-engine.js';
import type { BOperand, SparseLayerSpec } from './sparse/layer-lowering.js';

/**
 * A MAC layer's operand tensors as trace validation established them (src/trace/manifest-check.ts,
 * `replayOperands`, the one place the role rules live): B is the static `weight`, else the per-step
 * `rhs`; the trace stores the A operand as `input` (q_t), as `delta` (Δ_t), or both.
 */
export interface LayerOperands {
  readonly bOperand: BOperand;
  readonly aStored: 'input' | 'delta' | 'both';
}

/** How a layer is replayed: decided once, from its operands, the hardware and the trace's length. */
export interface LayerPlan {
  readonly bOperand: BOperand;
  /** Replayed as y_t = y_{t−1} + W·Δ_t. */
  readonly delta: boolean;
  /** Where the A operand's mask comes from: the stored `input`, the stored `delta`, or Δ derived from consecutive inputs. */
  readonly aSource: 'input' | 'delta' | 'derived-delta';
}

/**
 * A is the `input`, or in delta mode Δ (stored `delta` tensors, or derived from consecutive
 * `input`s). Delta mode needs a static weight (y_t = y_{t−1} + W·Δ_t does not hold when B changes)
 * and either stored deltas or more than one step.
 */
export function planLayer(operands: LayerOperands, hw: HardwareModel, steps: number): LayerPlan {
  const { bOperand, aStored } = operands;
  const hasInput = aStored !== 'delta';
  const storedDeltas = aStored !== 'input';
  const delta = hw.deltaMode && bOperand === 'weight' && (storedDeltas || (hasInput && steps > 1));
  const aSource = delta ? (storedDeltas ? 'delta' : 'derived-delta') : hasInput ? 'input' : 'delta';
  return { bOperand, delta, aSource };
}

/** A step restarts the delta state on a key frame and at a new sequence (step 0 included). */
export function isNewSequence(steps: readonly { readonly sequence: number }[], t: number): boolean {
  return t === 0 || steps[t - 1]?.sequence !== steps[t]?.sequence;
}

/** Bytes of a layer's static weight stored dense (an upper bound of any compressed format). */
export function weightBytes(spec: SparseLayerSpec, hw: HardwareModel): number {
  const elements = spec.operandShape
    ? spec.operandShape.reduce((a, b) => a * b, 1)
    : spec.gemm.k * spec.gemm.n * spec.gemmCount;
  return (elements * PRECISION_BITS[hw.precision]) / 8;
}

/**
 * How often each layer's weight is read from DRAM (docs/model.md, "Residency and schedule"):
 * - the weights of every layer fit the filter buffer together: once per `run` (any schedule);
 * - layer-major and the layer's weight fits alone: once per `sequence` (clip);
 * - otherwise every `step` (frame-major streams every layer's weights through the buffer per frame).
 * Layers with no static weight (`null`) are re-read every step. Sizes are dense (conservative).
 */
export function weightResidency(
  layers: readonly (SparseLayerSpec | null)[],
  hw: HardwareModel,
): readonly WeightResidency[] {
  const schedule: Schedule = hw.schedule ?? 'frame-major';
  const sizes = layers.map((l) => (l ? weightBytes(l, hw) : 0));
  const network = sizes.reduce((a, b) => a + b, 0);
  const capacity = hw.sram.filterBytes;
  return layers.map((l, i): WeightResidency => {
    if (!l) return 'step';
    if (network <= capacity) return 'run';
    if (schedule === 'layer-major' && sizes[i]! <= capacity) return 'sequence';
    return 'step';
  });
}

/** Which operands of a layer are a delta layer's output read densely (see `reconstructedOperands`). */
export interface ReconstructedOperands {
  readonly a: boolean;
  readonly b: boolean;
}

/**
 * Operands a non-delta layer reads from a delta layer (docs/model.md, "Temporal (delta) mode"): a
 * delta layer writes no dense outputs, so such an operand is the reconstructed q, read from the
 * producer's state. A trace names no producers; an operand's producer is taken to be the nearest
 * earlier layer with a static weight whose output has the operand's element count (activation ×
 * activation products and the state products consume projections, never each other's outputs
 * unchanged).
 */
export function reconstructedOperands(
  layers: readonly {
    readonly spec: SparseLayerSpec;
    readonly plan: Pick<LayerPlan, 'bOperand' | 'delta'>;
  }[],
): readonly ReconstructedOperands[] {
  const outputs = layers.map(({ spec }) => spec.gemm.m * spec.gemm.n * spec.gemmCount);
  const fromDeltaLayer = (i: number, elements: number): boolean => {
    for (let j = i - 1; j >= 0; j--) {
      if (layers[j]!.plan.bOperand === 'weight' && outputs[j] === elements) return layers[j]!.plan.delta;
    }
    return false;
  };
  return layers.map(({ spec, plan }, i) => {
    if (plan.delta) return { a: false, b: false };
    const product = (shape: readonly number[]): number => shape.reduce((x, y) => x * y, 1);
    return {
      a: fromDeltaLayer(i, product(spec.inputShape)),
      b:
        plan.bOperand === 'rhs' &&
        spec.operandShape !== undefined &&
        fromDeltaLayer(i, product(spec.operandShape)),
    };
  });
}
