import * as tf from '@tensorflow/tfjs';
import {
  type ActivationKind,
  type ChannelSplit,
  LAYER_SCALE_INIT,
  MLP_RATIO,
} from '../models/iformer-config.js';
import { activate, inceptionMixer, type MixerSpec, type MixerWeights, pointwise } from './inception-mixer.js';

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
}

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
  private readonly vars = new Map<string, tf.LayerVariable>();

  constructor(args: IFormerBlockArgs) {
    super(args);
    const split: ChannelSplit = { channels: args.width, high: args.high, low: args.low, heads: args.heads };
    this.spec = { split, headDim: args.headDim, pool: args.pool, activation: args.activation };
    this.width = args.width;
    this.layerScale = args.layerScale;
    this.seed = args.seed;
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
    this.built = true;
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

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor4D;
      const w = this.blockWeights();
      let mixed: tf.Tensor = inceptionMixer(layerNorm(x, ...w.norm1) as tf.Tensor4D, w.mixer, this.spec);
      if (w.scale1) mixed = tf.mul(mixed, w.scale1);
      const y = tf.add(x, mixed) as tf.Tensor4D;
      const hidden = activate(
        pointwise(layerNorm(y, ...w.norm2) as tf.Tensor4D, w.fc1, w.fc1Bias),
        this.spec.activation,
      );
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
    };
  }
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
