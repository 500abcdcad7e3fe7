import * as tf from '@tensorflow/tfjs';
import { IFormerActivation, IFormerBlock, PositionalEmbedding } from '../layers/iformer-layers.js';
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
}

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
  const input = tf.input({ shape: [size, size, 1], name: 'image' });
  let x = conv('stem1', variant.stemWidth).apply(input) as tf.SymbolicTensor;
  x = new IFormerActivation({ name: 'stem_act', activation }).apply(x) as tf.SymbolicTensor;
  x = conv('stem2', variant.stages[0]!.width).apply(x) as tf.SymbolicTensor;
  variant.stages.forEach((stage, s) => {
    const id = s + 1;
    if (s > 0) x = conv(`down${id}`, stage.width).apply(x) as tf.SymbolicTensor;
    x = new PositionalEmbedding({ name: `pos${id}`, seed: nextSeed() }).apply(x) as tf.SymbolicTensor;
    const split = channelSplit(stage, variant.headDim, mixer);
    for (let b = 0; b < stage.depth; b++) {
      const name = `stage${id}_block${b + 1}`;
      x = stageBlock(stage, split, variant.headDim, activation, nextSeed(), name).apply(
        x,
      ) as tf.SymbolicTensor;
    }
  });
  x = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.layerNormalization({ name: 'head_norm', epsilon: 1e-6 }).apply(x) as tf.SymbolicTensor;
  const logits = tf.layers
    .dense({
      name: 'head',
      units: options.classes,
      kernelInitializer: tf.initializers.truncatedNormal({ stddev: 0.02, seed: nextSeed() }),
    })
    .apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: logits, name: `iformer-${mixer}` });
}

/** One block of a stage, its mixer split as given. */
export function stageBlock(
  stage: IFormerStage,
  split: ChannelSplit,
  headDim: number,
  activation: ActivationKind,
  seed: number,
  name?: string,
): IFormerBlock {
  return new IFormerBlock({
    ...(name ? { name } : {}),
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
