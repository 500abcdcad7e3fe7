import * as tf from '@tensorflow/tfjs';
import {
  type ActivationKind,
  type ChannelSplit,
  LAYER_SCALE_INIT,
  MLP_RATIO,
} from '../models/iformer-config.js';
import { DeltaActivation } from './delta-activation.js';
import {
  activate,
  inceptionMixer,
  type MixerHooks,
  type MixerSite,
  type MixerSpec,
  type MixerWeights,
  pointwise,
} from './inception-mixer.js';

const LN_EPSILON = 1e-6;

/** LayerNorm over the channel (last) axis. */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, LN_EPSILON))), gamma), beta);
  });
}

export interface IFormerBlockArgs {
  readonly name?: string;
  readonly width: number;
  /** C_h, C_l and the head count of the mixer. */
  readonly high: number;
  readonly low: number;
  readonly heads: number;
  readonly headDim: number;
  readonly pool: number;
  readonly activation: ActivationKind;
  readonly layerScale: boolean;
  /** Seeds the initialisers (weights are overwritten when a saved model loads). */
  readonly seed: number;
  readonly trainable?: boolean;
  /** Video mode: Delta Activation Layers inside the block (see `BLOCK_DAL_SITES`). */
  readonly dal?: BlockDalConfig;
}

/** How a video-mode block quantises: clip length (the DALs see time) and the DALs' settings. */
export interface BlockDalConfig {
  readonly frames: number;
  readonly thresholdInit: number;
  readonly spRate: number;
}

/**
 * Where a video-mode block puts a Delta Activation Layer: after both LayerNorms (the inputs of the
 * mixer's 1×1 convs, max-pool and attention pool, and of the first MLP matmul), after the
 * activations of paths A and B and after the MLP's hidden activation. Every MAC-bearing op that
 * reads one of these values sees temporally sparse changes; the residual stream stays exact.
 */
export const BLOCK_DAL_SITES = ['norm1', 'a', 'b', 'norm2', 'hidden'] as const;
export type BlockDalSite = (typeof BLOCK_DAL_SITES)[number];

/** Name of a block's DAL at a site (unique in a model: it carries the block's name). */
export function blockDalName(block: string, site: BlockDalSite): string {
  return `${block}_dal_${site}`;
}

/** What a block lets a recorder see: the mixer's operands and the block's own (norm inputs, MLP). */
export type BlockSite = MixerSite | 'norm1' | 'norm2' | 'fc1' | 'fc2';

/** The values a block computes with, read from its variables (for the recorder and the tests). */
export interface BlockWeights {
  readonly norm1: readonly [tf.Tensor, tf.Tensor];
  readonly norm2: readonly [tf.Tensor, tf.Tensor];
  readonly mixer: MixerWeights;
  readonly fc1: tf.Tensor2D;
  readonly fc1Bias: tf.Tensor1D;
  readonly fc2: tf.Tensor2D;
  readonly fc2Bias: tf.Tensor1D;
  readonly scale1?: tf.Tensor1D;
  readonly scale2?: tf.Tensor1D;
}

/**
 * One pre-LN iFormer block on NHWC: x + LS₁·Mixer(LN(x)), then x + LS₂·MLP(LN(x)) with an MLP of
 * ratio 4. One layer per block keeps the model a chain (layer-by-layer runs stay simple).
 */
export class IFormerBlock extends tf.layers.Layer {
  static className = 'IFormerBlock';
  readonly spec: MixerSpec;
  readonly width: number;
  readonly layerScale: boolean;
  readonly seed: number;
  readonly dal: BlockDalConfig | undefined;
  /** Video mode's DALs by site (empty for an image model). Their θ are weights of this block. */
  readonly dals = new Map<BlockDalSite, DeltaActivation>();
  /** While set, every operand the block computes is shown to it (recording). */
  captureOperands: ((site: BlockSite, value: tf.Tensor) => void) | undefined;
  private readonly vars = new Map<string, tf.LayerVariable>();

  constructor(args: IFormerBlockArgs) {
    super(args);
    const split: ChannelSplit = { channels: args.width, high: args.high, low: args.low, heads: args.heads };
    this.spec = { split, headDim: args.headDim, pool: args.pool, activation: args.activation };
    this.width = args.width;
    this.layerScale = args.layerScale;
    this.seed = args.seed;
    this.dal = args.dal;
    if (args.dal) {
      const fanOut = blockDalFanOut(split, args.pool);
      for (const site of BLOCK_DAL_SITES) {
        if (split.high === 0 && (site === 'a' || site === 'b')) continue;
        this.dals.set(
          site,
          new DeltaActivation({
            name: blockDalName(this.name, site),
            thresholdInit: args.dal.thresholdInit,
            spRate: args.dal.spRate,
            fanOut: fanOut[site],
          }),
        );
      }
    }
  }

  override build(): void {
    const c = this.width;
    const { high, low } = this.spec.split;
    const fused = 2 * high + low;
    const hidden = MLP_RATIO * c;
    let n = 0;
    const normal = (stddev: number) => tf.initializers.truncatedNormal({ stddev, seed: this.seed + n++ });
    const zeros = tf.initializers.zeros();
    const ones = tf.initializers.ones();
    const add = (name: string, shape: number[], init: ReturnType<typeof tf.initializers.zeros>) => {
      this.vars.set(name, this.addWeight(name, shape, 'float32', init));
    };
    add('norm1_gamma', [c], ones);
    add('norm1_beta', [c], zeros);
    if (high > 0) {
      add('conv_a', [high / 2, high], normal(Math.sqrt(2 / (high / 2))));
      add('dw_a', [3, 3, high, 1], normal(Math.sqrt(2 / 9)));
      add('conv_b', [high / 2, high], normal(Math.sqrt(2 / (high / 2))));
      add('bias_b', [high], zeros);
    }
    if (low > 0) {
      add('qkv', [low, 3 * low], normal(0.02));
      add('qkv_bias', [3 * low], zeros);
    }
    add('fuse', [3, 3, fused, 1], normal(0.02));
    add('proj', [fused, c], normal(0.02));
    add('proj_bias', [c], zeros);
    add('norm2_gamma', [c], ones);
    add('norm2_beta', [c], zeros);
    add('fc1', [c, hidden], normal(0.02));
    add('fc1_bias', [hidden], zeros);
    add('fc2', [hidden, c], normal(0.02));
    add('fc2_bias', [c], zeros);
    if (this.layerScale) {
      add('scale1', [c], tf.initializers.constant({ value: LAYER_SCALE_INIT }));
      add('scale2', [c], tf.initializers.constant({ value: LAYER_SCALE_INIT }));
    }
    // Each DAL builds its θ under its own name scope (inside this block's): a concrete call does it.
    for (const [site, dal] of this.dals) {
      tf.tidy(() => {
        dal.apply(tf.zeros([1, 1, this.dalChannels(site)]));
      });
      this._trainableWeights.push(...dal.trainableWeights);
    }
    this.built = true;
  }

  private dalChannels(site: BlockDalSite): number {
    if (site === 'a' || site === 'b') return this.spec.split.high;
    return site === 'hidden' ? MLP_RATIO * this.width : this.width;
  }

  /**
   * The DAL of a site on a time-folded [B·T, H, W, C] tensor: unfolds time for it (its penalty is on
   * temporal deltas), folds back. Identity without video mode.
   */
  // biome-ignore lint/suspicious/noExplicitAny: tfjs-layers types call() kwargs as {[key: string]: any}
  private quantise(site: BlockDalSite, x: tf.Tensor, kwargs: { [key: string]: any }): tf.Tensor {
    const dal = this.dals.get(site);
    if (!dal || !this.dal) return x;
    const channels = x.shape[x.shape.length - 1]!;
    const unfolded = tf.reshape(x, [-1, this.dal.frames, x.size / (x.shape[0]! * channels), channels]);
    return tf.reshape(dal.call(unfolded, kwargs), x.shape);
  }

  /** The block's current weights (views of its variables: do not dispose). */
  blockWeights(): BlockWeights {
    const get = <T extends tf.Tensor>(name: string): T => this.vars.get(name)!.read() as T;
    const opt = <T extends tf.Tensor>(name: string): T | undefined =>
      this.vars.has(name) ? get<T>(name) : undefined;
    return {
      norm1: [get('norm1_gamma'), get('norm1_beta')],
      norm2: [get('norm2_gamma'), get('norm2_beta')],
      mixer: {
        convA: opt('conv_a'),
        dwA: opt('dw_a'),
        convB: opt('conv_b'),
        biasB: opt('bias_b'),
        qkv: opt('qkv'),
        qkvBias: opt('qkv_bias'),
        fuse: get('fuse'),
        proj: get('proj'),
        projBias: get('proj_bias'),
      },
      fc1: get('fc1'),
      fc1Bias: get('fc1_bias'),
      fc2: get('fc2'),
      fc2Bias: get('fc2_bias'),
      scale1: opt('scale1'),
      scale2: opt('scale2'),
    };
  }

  // biome-ignore lint/suspicious/noExplicitAny: tfjs-layers types call() kwargs as {[key: string]: any}
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { [key: string]: any } = {}): tf.Tensor {
    // Penalties are kept outside the tidy (the training step disposes them).
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor4D;
      const w = this.blockWeights();
      const tap = this.captureOperands;
      tap?.('norm1', x);
      const hooks: MixerHooks = {
        ...(tap ? { tap } : {}),
        ...(this.dals.size > 0
          ? { afterActivation: (path, value) => this.quantise(path, value, kwargs) as tf.Tensor4D }
          : {}),
      };
      const normed = this.quantise('norm1', layerNorm(x, ...w.norm1), kwargs) as tf.Tensor4D;
      let mixed: tf.Tensor = inceptionMixer(normed, w.mixer, this.spec, hooks);
      if (w.scale1) mixed = tf.mul(mixed, w.scale1);
      const y = tf.add(x, mixed) as tf.Tensor4D;
      tap?.('norm2', y);
      const normed2 = this.quantise('norm2', layerNorm(y, ...w.norm2), kwargs) as tf.Tensor4D;
      tap?.('fc1', normed2);
      const hidden = this.quantise(
        'hidden',
        activate(pointwise(normed2, w.fc1, w.fc1Bias), this.spec.activation),
        kwargs,
      );
      tap?.('fc2', hidden);
      let mlp: tf.Tensor = pointwise(hidden as tf.Tensor4D, w.fc2, w.fc2Bias);
      if (w.scale2) mlp = tf.mul(mlp, w.scale2);
      return tf.add(y, mlp);
    });
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    const { split, headDim, pool, activation } = this.spec;
    return {
      ...super.getConfig(),
      width: this.width,
      high: split.high,
      low: split.low,
      heads: split.heads,
      headDim,
      pool,
      activation,
      layerScale: this.layerScale,
      seed: this.seed,
      ...(this.dal ? { dal: { ...this.dal } } : {}),
    };
  }
}

/**
 * MACs one changed value at each DAL site triggers in the ops that read it, per value (the DAL
 * penalty's weight, as delta-cnn's fan-out): norm1 feeds the two 1×1 convs and the q/k/v projection,
 * paths A and B the fusion depthwise conv (9) and the projection (C), norm2 the first MLP matmul (4C),
 * the hidden activation the second (C).
 */
export function blockDalFanOut(split: ChannelSplit, pool: number): Record<BlockDalSite, number> {
  const c = split.channels;
  const perPixelMixerIn = split.high * (split.high / 2) + (3 * split.low * split.low) / (pool * pool);
  return {
    norm1: perPixelMixerIn / c,
    a: 9 + c,
    b: 9 + c,
    norm2: MLP_RATIO * c,
    hidden: c,
  };
}

export interface PositionalEmbeddingArgs {
  readonly name?: string;
  readonly seed: number;
  readonly trainable?: boolean;
}

/** A learned embedding per position and channel ([H, W, C]), added to the stage's input. */
export class PositionalEmbedding extends tf.layers.Layer {
  static className = 'PositionalEmbedding';
  readonly seed: number;
  private embedding: tf.LayerVariable | undefined;

  constructor(args: PositionalEmbeddingArgs) {
    super(args);
    this.seed = args.seed;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const [, h, w, c] = shape;
    if (typeof h !== 'number' || typeof w !== 'number' || typeof c !== 'number') {
      throw new Error('PositionalEmbedding needs a known [H, W, C]');
    }
    this.embedding = this.addWeight(
      'embedding',
      [h, w, c],
      'float32',
      tf.initializers.truncatedNormal({ stddev: 0.02, seed: this.seed }),
    );
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    return tf.add(x, this.embedding!.read());
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), seed: this.seed };
  }
}

export interface ActivationLayerArgs {
  readonly name?: string;
  readonly activation: ActivationKind;
}

/**
 * The model's activation as a layer (the stem's). tfjs' own 'gelu_new' saves as "geluNew", which
 * tfjs 4.22 cannot load back; this one uses the blocks' GELU and round-trips.
 */
export class IFormerActivation extends tf.layers.Layer {
  static className = 'IFormerActivation';
  readonly activation: ActivationKind;

  constructor(args: ActivationLayerArgs) {
    super(args);
    this.activation = args.activation;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return activate(Array.isArray(inputs) ? inputs[0]! : inputs, this.activation);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), activation: this.activation };
  }
}

/** Every custom layer class an iFormer model needs to be loaded. */
export const IFORMER_LAYER_CLASSES = [IFormerBlock, PositionalEmbedding, IFormerActivation] as const;
