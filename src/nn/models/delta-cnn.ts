import * as tf from '@tensorflow/tfjs';
import { DeltaActivation } from '../layers/delta-activation.js';
import { FoldTime, FramePair, UnfoldTime } from '../layers/time-folding.js';

export type DeltaCnnVariant = 'dense' | 'dal';
export const DELTA_CNN_VARIANTS: readonly DeltaCnnVariant[] = ['dense', 'dal'];

export interface DeltaCnnOptions {
  readonly variant: DeltaCnnVariant;
  /** Seeds the weight initialisers. */
  readonly seed: number;
  readonly frames?: number;
  readonly size?: number;
  readonly classes?: number;
  /** Initial θ of the DAL on the raw input (pixels in [0, 1], sensor noise σ ≈ 0.03). */
  readonly inputThresholdInit?: number;
  /** Initial θ of the DALs after the ReLUs. */
  readonly thresholdInit?: number;
  /** sp_rate of every DAL's penalty. */
  readonly spRate?: number;
}

interface ConvSpec {
  readonly name: string;
  readonly filters: number;
  readonly stride: number;
}

/** The per-frame CNN: 3×3 convs (stride-2 downsampling), one hidden FC layer, logits. */
export const DELTA_CNN_CONVS: readonly ConvSpec[] = [
  { name: 'conv1', filters: 16, stride: 2 },
  { name: 'conv2', filters: 32, stride: 2 },
  { name: 'conv3', filters: 32, stride: 1 },
  { name: 'conv4', filters: 64, stride: 2 },
];
export const DELTA_CNN_KERNEL = 3;
export const DELTA_CNN_HIDDEN_UNITS = 64;
export const DELTA_CNN_DEFAULTS = {
  frames: 8,
  size: 32,
  classes: 10,
  inputThresholdInit: 0.1,
  thresholdInit: 0.05,
  spRate: 2e-4,
} as const;

/** Name of the DAL that quantises the input of a MAC-bearing layer. */
export function dalNameFor(macLayer: string): string {
  return `dal_${macLayer}`;
}

/** Geometry of one MAC-bearing layer of the network, as the model applies it (TF 'same' padding). */
export interface MacLayerGeometry {
  readonly name: string;
  readonly op: 'conv2d' | 'dense';
  /** Per-frame input [H, W, C] (conv) or [K] (dense). */
  readonly inputShape: readonly number[];
  /** Per-frame output [Ho, Wo, N] (conv) or [N] (dense). */
  readonly outputShape: readonly number[];
  readonly kernel: number;
  readonly stride: number;
  /** [top, bottom, left, right] zero padding. */
  readonly padding: readonly [number, number, number, number];
  /** MACs per frame (M·K·N of its GEMM). */
  readonly macs: number;
  /** MACs one input value triggers on average: macs / input values (the DAL penalty's n_outputs). */
  readonly fanOut: number;
}

/** TF 'same' padding: output ⌈in/s⌉, the odd pixel of padding goes to the bottom/right. */
export function samePadding(inSize: number, kernel: number, stride: number): [number, number] {
  const out = Math.ceil(inSize / stride);
  const total = Math.max((out - 1) * stride + kernel - inSize, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** The MAC-bearing layers in order, with their geometry, for frames of `size`×`size` pixels. */
export function deltaCnnGeometry(
  size: number = DELTA_CNN_DEFAULTS.size,
  classes: number = DELTA_CNN_DEFAULTS.classes,
): MacLayerGeometry[] {
  const layers: MacLayerGeometry[] = [];
  let side = size;
  let channels = 2; // FramePair: [x_t, x_{t−1}]
  for (const conv of DELTA_CNN_CONVS) {
    const [top, bottom] = samePadding(side, DELTA_CNN_KERNEL, conv.stride);
    const out = Math.ceil(side / conv.stride);
    const macs = out * out * DELTA_CNN_KERNEL * DELTA_CNN_KERNEL * channels * conv.filters;
    layers.push({
      name: conv.name,
      op: 'conv2d',
      inputShape: [side, side, channels],
      outputShape: [out, out, conv.filters],
      kernel: DELTA_CNN_KERNEL,
      stride: conv.stride,
      padding: [top, bottom, top, bottom],
      macs,
      fanOut: macs / (side * side * channels),
    });
    side = out;
    channels = conv.filters;
  }
  const dense = (name: string, k: number, n: number): MacLayerGeometry => ({
    name,
    op: 'dense',
    inputShape: [k],
    outputShape: [n],
    kernel: 1,
    stride: 1,
    padding: [0, 0, 0, 0],
    macs: k * n,
    fanOut: n,
  });
  layers.push(dense('fc1', side * side * channels, DELTA_CNN_HIDDEN_UNITS));
  layers.push(dense('logits', DELTA_CNN_HIDDEN_UNITS, classes));
  return layers;
}

/**
 * Builds the video CNN: frames are paired with their predecessor (FramePair), every (pair of) frame
 * goes through the same CNN (time folded into the batch), and the per-frame logits are averaged
 * over time. The `dal` variant puts a Delta Activation Layer on the input and after every ReLU, i.e.
 * in front of every MAC-bearing layer; `dense` is the same network without them. Layer names match
 * between variants so dense weights load into a DAL model by name.
 */
export function buildDeltaCnn(options: DeltaCnnOptions): tf.LayersModel {
  const frames = options.frames ?? DELTA_CNN_DEFAULTS.frames;
  const size = options.size ?? DELTA_CNN_DEFAULTS.size;
  const classes = options.classes ?? DELTA_CNN_DEFAULTS.classes;
  const spRate = options.spRate ?? DELTA_CNN_DEFAULTS.spRate;
  let seed = options.seed >>> 0;
  const nextSeed = (): number => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed;
  };
  const fanOut = new Map(deltaCnnGeometry(size, classes).map((l) => [l.name, l.fanOut]));

  // `x` is folded ([B·T, …]) between layers; a DAL unfolds it to see time and folds back.
  const quantise = (x: tf.SymbolicTensor, next: string, init: number): tf.SymbolicTensor => {
    if (options.variant === 'dense') return x;
    const unfolded = new UnfoldTime({ name: `unfold_${next}`, frames }).apply(x) as tf.SymbolicTensor;
    const q = new DeltaActivation({
      name: dalNameFor(next),
      thresholdInit: init,
      spRate,
      fanOut: fanOut.get(next) ?? 1,
    }).apply(unfolded) as tf.SymbolicTensor;
    return new FoldTime({ name: `fold_${next}` }).apply(q) as tf.SymbolicTensor;
  };

  const input = tf.input({ shape: [frames, size, size, 1], name: 'frames' });
  const paired = new FramePair({ name: 'pair' }).apply(input) as tf.SymbolicTensor;
  let x = new FoldTime({ name: 'fold_input' }).apply(paired) as tf.SymbolicTensor;
  const firstLayer = DELTA_CNN_CONVS[0]!.name;
  x = quantise(x, firstLayer, options.inputThresholdInit ?? DELTA_CNN_DEFAULTS.inputThresholdInit);
  const hiddenInit = options.thresholdInit ?? DELTA_CNN_DEFAULTS.thresholdInit;
  DELTA_CNN_CONVS.forEach((conv, i) => {
    x = tf.layers
      .conv2d({
        name: conv.name,
        filters: conv.filters,
        kernelSize: DELTA_CNN_KERNEL,
        strides: conv.stride,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: tf.initializers.heNormal({ seed: nextSeed() }),
      })
      .apply(x) as tf.SymbolicTensor;
    x = quantise(x, DELTA_CNN_CONVS[i + 1]?.name ?? 'fc1', hiddenInit);
  });
  x = tf.layers.flatten({ name: 'flatten' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers
    .dense({
      name: 'fc1',
      units: DELTA_CNN_HIDDEN_UNITS,
      activation: 'relu',
      kernelInitializer: tf.initializers.heNormal({ seed: nextSeed() }),
    })
    .apply(x) as tf.SymbolicTensor;
  x = quantise(x, 'logits', hiddenInit);
  x = tf.layers
    .dense({
      name: 'logits',
      units: classes,
      kernelInitializer: tf.initializers.glorotUniform({ seed: nextSeed() }),
    })
    .apply(x) as tf.SymbolicTensor;
  x = new UnfoldTime({ name: 'unfold_time', frames }).apply(x) as tf.SymbolicTensor;
  const output = tf.layers.globalAveragePooling1d({ name: 'time_mean' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: output, name: `delta-cnn-${options.variant}` });
}

/** The DAL layers of a model, in order. */
export function deltaActivationLayers(model: tf.LayersModel): DeltaActivation[] {
  return model.layers.filter((l): l is DeltaActivation => l instanceof DeltaActivation);
}

/** Copies every weight of `from` into the same-named layer of `to` (dense → DAL fine-tuning). */
export function copyWeightsByName(from: tf.LayersModel, to: tf.LayersModel): number {
  let copied = 0;
  for (const layer of from.layers) {
    const weights = layer.getWeights();
    if (weights.length === 0) continue;
    to.getLayer(layer.name).setWeights(weights);
    copied += 1;
  }
  return copied;
}
