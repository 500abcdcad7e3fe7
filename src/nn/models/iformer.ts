import * as tf from '@tensorflow/tfjs';
import { DeltaActivation } from '../layers/delta-activation.js';
import {
  type BlockDalConfig,
  IFormerActivation,
  IFormerBlock,
  PositionalEmbedding,
} from '../layers/iformer-layers.js';
import { FoldTime, FramePair, UnfoldTime } from '../layers/time-folding.js';
import {
  type ActivationKind,
  type ChannelSplit,
  channelSplit,
  IFORMER_VARIANTS,
  type IFormerStage,
  type IFormerVariant,
  type IFormerVariantName,
  IMAGE_SIZE,
  type MixerKind,
  matchedVariant,
} from './iformer-config.js';

export interface IFormerOptions {
  readonly variant?: IFormerVariantName;
  readonly mixer?: MixerKind;
  readonly activation?: ActivationKind;
  readonly classes: number;
  /** Seeds every initialiser. */
  readonly seed: number;
  readonly size?: number;
  /** Video mode: clips of frames, Delta Activation Layers after the activations (see buildIFormer). */
  readonly video?: IFormerVideoOptions;
}

export interface IFormerVideoOptions {
  readonly frames: number;
  /** Initial θ of the DAL on the input pixels. */
  readonly inputThresholdInit: number;
  /** Initial θ of every other DAL. */
  readonly thresholdInit: number;
  readonly spRate: number;
  /** Feed [x_t, x_t − x_{t−1}] instead of [x_t, x_{t−1}] (FramePair's `difference`). */
  readonly frameDifference?: boolean;
}

/** Names of the video model's two DALs outside the blocks: on the frame pairs and after the stem's activation. */
export const IFORMER_INPUT_DAL = 'dal_input';
export const IFORMER_STEM_DAL = 'dal_stem';

/** The stage table a model of these options is built from (ablation mixers: widths matched). */
export function resolvedVariant(
  options: Pick<IFormerOptions, 'variant' | 'mixer' | 'classes'>,
): IFormerVariant {
  return matchedVariant(
    IFORMER_VARIANTS[options.variant ?? 'mini'],
    options.mixer ?? 'inception',
    options.classes,
  );
}

/**
 * The mini iFormer as a chain of layers on [B, 32, 32, 1] images: two 3×3 stride-2 stem convs,
 * then per stage (a 3×3 stride-2 downsampling conv from the second on) a learned positional
 * embedding and its pre-LN blocks; global average pool, LayerNorm, linear classifier (logits).
 *
 * Video mode (`video`) runs the same network on every frame of [B, T, 32, 32, 1] clips, each frame
 * next to its change since the previous one ([x_t, x_t − x_{t−1}] with `frameDifference`, else
 * [x_t, x_{t−1}]), with time folded into the batch. Its head is temporal: the last stage's features
 * at every position (flattened, not averaged: where the digit is matters) are normalised and paired
 * with their change since the previous frame, classified per frame, and the logits averaged over
 * time, so the clip's logits see the whole trajectory (a time average of per-frame logits of pooled
 * features did not learn the task; docs/iformer.md). Delta Activation Layers quantise the input, the
 * stem's activation and, inside every block, both LayerNorm outputs and the three activations
 * (BLOCK_DAL_SITES).
 */
export function buildIFormer(options: IFormerOptions): tf.LayersModel {
  const mixer = options.mixer ?? 'inception';
  const activation = options.activation ?? 'gelu';
  const size = options.size ?? IMAGE_SIZE;
  const variant = resolvedVariant(options);
  let seed = options.seed >>> 0;
  const nextSeed = (): number => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed;
  };
  const conv = (name: string, filters: number) =>
    tf.layers.conv2d({
      name,
      filters,
      kernelSize: 3,
      strides: 2,
      padding: 'same',
      kernelInitializer: tf.initializers.heNormal({ seed: nextSeed() }),
    });
  const video = options.video;
  const apply = (layer: tf.layers.Layer, t: tf.SymbolicTensor) => layer.apply(t) as tf.SymbolicTensor;
  // A top-level DAL on folded [B·T, …] values: unfold for it (it sees time), fold back.
  const quantise = (t: tf.SymbolicTensor, name: string, init: number, fanOut: number) => {
    if (!video) return t;
    const unfolded = apply(new UnfoldTime({ name: `unfold_${name}`, frames: video.frames }), t);
    const q = apply(
      new DeltaActivation({ name, thresholdInit: init, spRate: video.spRate, fanOut }),
      unfolded,
    );
    return apply(new FoldTime({ name: `fold_${name}` }), q);
  };
  const input = video
    ? tf.input({ shape: [video.frames, size, size, 1], name: 'frames' })
    : tf.input({ shape: [size, size, 1], name: 'image' });
  let x = input;
  if (video) {
    x = apply(new FramePair({ name: 'pair', difference: video.frameDifference ?? false }), x);
    x = apply(new FoldTime({ name: 'fold_pair' }), x);
  }
  const half = Math.ceil(size / 2);
  const first = variant.stages[0]!.width;
  // Fan-outs: MACs of the next conv per value of its input (stride 2 → a value feeds 9/4 windows).
  x = quantise(
    x,
    IFORMER_INPUT_DAL,
    video?.inputThresholdInit ?? 0,
    (half * half * 9 * variant.stemWidth) / (size * size),
  );
  x = conv('stem1', variant.stemWidth).apply(x) as tf.SymbolicTensor;
  x = new IFormerActivation({ name: 'stem_act', activation }).apply(x) as tf.SymbolicTensor;
  const quarter = Math.ceil(half / 2);
  x = quantise(
    x,
    IFORMER_STEM_DAL,
    video?.thresholdInit ?? 0,
    (quarter * quarter * 9 * first) / (half * half),
  );
  x = conv('stem2', first).apply(x) as tf.SymbolicTensor;
  variant.stages.forEach((stage, s) => {
    const id = s + 1;
    if (s > 0) x = conv(`down${id}`, stage.width).apply(x) as tf.SymbolicTensor;
    x = new PositionalEmbedding({ name: `pos${id}`, seed: nextSeed() }).apply(x) as tf.SymbolicTensor;
    const split = channelSplit(stage, variant.headDim, mixer);
    const dal: BlockDalConfig | undefined = video
      ? { frames: video.frames, thresholdInit: video.thresholdInit, spRate: video.spRate }
      : undefined;
    for (let b = 0; b < stage.depth; b++) {
      const name = `stage${id}_block${b + 1}`;
      x = stageBlock(stage, split, variant.headDim, activation, nextSeed(), name, dal).apply(
        x,
      ) as tf.SymbolicTensor;
    }
  });
  // Video: every position of the last stage (the digit's place), not their average, and the frame's
  // features next to their change since the previous frame (the temporal head, docs/iformer.md).
  x = (
    video ? tf.layers.flatten({ name: 'flatten' }) : tf.layers.globalAveragePooling2d({ name: 'pool' })
  ).apply(x) as tf.SymbolicTensor;
  x = tf.layers.layerNormalization({ name: 'head_norm', epsilon: 1e-6 }).apply(x) as tf.SymbolicTensor;
  if (video) {
    x = apply(new UnfoldTime({ name: 'unfold_head', frames: video.frames }), x);
    x = apply(new FramePair({ name: 'head_pair', difference: true }), x);
    x = apply(new FoldTime({ name: 'fold_head' }), x);
  }
  const logits = tf.layers
    .dense({
      name: 'head',
      units: options.classes,
      kernelInitializer: tf.initializers.truncatedNormal({ stddev: 0.02, seed: nextSeed() }),
    })
    .apply(x) as tf.SymbolicTensor;
  if (!video) return tf.model({ inputs: input, outputs: logits, name: `iformer-${mixer}` });
  const perFrame = apply(new UnfoldTime({ name: 'unfold_time', frames: video.frames }), logits);
  const output = apply(tf.layers.globalAveragePooling1d({ name: 'time_mean' }), perFrame);
  return tf.model({ inputs: input, outputs: output, name: `iformer-${mixer}-video` });
}

/** Every Delta Activation Layer of an iFormer model: the top-level ones and those inside its blocks. */
export function iformerDeltaActivations(model: tf.LayersModel): DeltaActivation[] {
  return model.layers.flatMap((l) =>
    l instanceof DeltaActivation ? [l] : l instanceof IFormerBlock ? [...l.dals.values()] : [],
  );
}

/** One block of a stage, its mixer split as given. */
export function stageBlock(
  stage: IFormerStage,
  split: ChannelSplit,
  headDim: number,
  activation: ActivationKind,
  seed: number,
  name?: string,
  dal?: BlockDalConfig,
): IFormerBlock {
  return new IFormerBlock({
    ...(name ? { name } : {}),
    ...(dal ? { dal } : {}),
    width: stage.width,
    high: split.high,
    low: split.low,
    heads: split.heads,
    headDim,
    pool: stage.pool,
    activation,
    layerScale: stage.layerScale,
    seed,
  });
}

/** The iFormer blocks of a model, in order. */
export function iformerBlocks(model: tf.LayersModel): IFormerBlock[] {
  return model.layers.filter((l): l is IFormerBlock => l instanceof IFormerBlock);
}
