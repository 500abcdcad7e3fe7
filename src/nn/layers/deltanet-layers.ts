import * as tf from '@tensorflow/tfjs';
import { deltaRuleChunkwise, deltaRuleRecurrent, type StateRule } from './delta-rule.js';

/** q/k feature map before L2 normalisation: SiLU (the reference default) or ReLU (exact zeros). */
export type FeatureMap = 'silu' | 'relu';
export const FEATURE_MAPS: readonly FeatureMap[] = ['silu', 'relu'];

/** How a mixer evaluates the delta rule: chunkwise (training) or token by token (inference, traces). */
export type MixerForm = 'chunkwise' | 'recurrent';

type Initializer = ReturnType<typeof tf.initializers.glorotUniform>;

const RMS_EPSILON = 1e-6;
const L2_EPSILON = 1e-6;

function rmsNormalise(x: tf.Tensor, weight: tf.Tensor, epsilon: number): tf.Tensor {
  const meanSquare = tf.mean(tf.square(x), -1, true);
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(meanSquare, epsilon))), weight);
}

function l2Normalise<T extends tf.Tensor>(x: T): T {
  return tf.mul(x, tf.rsqrt(tf.add(tf.sum(tf.square(x), -1, true), L2_EPSILON))) as T;
}

function silu(x: tf.Tensor): tf.Tensor {
  return tf.mul(x, tf.sigmoid(x));
}

/**
 * round(x/θ)·θ: a projection input quantised as a delta activation layer would (docs/deltanet.md,
 * "Trace"); `undefined` leaves it exact. Recording only, hence no gradient path.
 */
function dalQuantise(x: tf.Tensor, theta: number | undefined): tf.Tensor {
  return theta === undefined ? x : tf.mul(tf.round(tf.div(x, theta)), theta);
}

/** [B, T, K]·[K, N] as one 2-D matmul (the broadcast matMul gradient is broken in tfjs 4.22). */
function project(x: tf.Tensor, weight: tf.Tensor): tf.Tensor {
  const [b, t, k] = x.shape as [number, number, number];
  const n = weight.shape[1]!;
  return tf.reshape(tf.matMul(tf.reshape(x, [b * t, k]), weight as tf.Tensor2D), [b, t, n]);
}

function seededGlorot(seed: number | undefined): Initializer {
  return tf.initializers.glorotUniform(seed === undefined ? {} : { seed });
}

/** RMSNorm over the last axis with a learned gain (no bias). */
export class RmsNorm extends tf.layers.Layer {
  static className = 'RmsNorm';
  readonly epsilon: number;
  /** Recording only, not serialised: quantise the output (a projection's input) to multiples of θ. */
  dalTheta: number | undefined;
  private gain: tf.LayerVariable | undefined;

  constructor(args: { name?: string; epsilon?: number; trainable?: boolean } = {}) {
    super(args);
    this.epsilon = args.epsilon ?? RMS_EPSILON;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = inputShape as tf.Shape;
    const width = shape[shape.length - 1];
    if (typeof width !== 'number') throw new Error('RmsNorm needs a known last dimension');
    this.gain = this.addWeight('gain', [width], 'float32', tf.initializers.ones());
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    return dalQuantise(rmsNormalise(x, this.gain!.read(), this.epsilon), this.dalTheta);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), epsilon: this.epsilon };
  }
}

export interface DeltaNetMixerArgs {
  readonly name?: string;
  readonly heads: number;
  /** d_k = d_v per head. */
  readonly headDim: number;
  readonly rule: StateRule;
  readonly featureMap?: FeatureMap;
  /** false: β = 1 for every token (the plain delta rule without a learned write strength). */
  readonly useBeta?: boolean;
  /** β = 2·sigmoid(·) ∈ (0, 2): the state's eigenvalue 1 − β‖k‖² may go negative. */
  readonly allowNegEigval?: boolean;
  /**
   * Present: the β gate has a trainable per-head bias, β = sigmoid(W_β x + b_β), initialised to this
   * value (a negative one starts β small, so early random tokens barely overwrite the state). Absent:
   * no bias (models saved before it existed).
   */
  readonly betaBias?: number;
  readonly chunk?: number;
  /** Width of the causal depthwise convolution on q, k, v. */
  readonly convWidth?: number;
  readonly seed?: number;
  readonly trainable?: boolean;
}

/** The operands of one mixer call, for the recorder: everything the three state GEMVs consume. */
export interface MixerOperands {
  /** Input of the q/k/v/β projections (after the block's pre-norm), `[B, T, D]`. */
  readonly input: tf.Tensor3D;
  /** The q, k, v projections before the short convolution (the convolutions' inputs), `[B, T, H·d]`. */
  readonly preConvQ: tf.Tensor3D;
  readonly preConvK: tf.Tensor3D;
  readonly preConvV: tf.Tensor3D;
  /** Per head, heads folded into the batch: `[B·H, T, d]` and β `[B·H, T]`. */
  readonly q: tf.Tensor3D;
  readonly k: tf.Tensor3D;
  readonly v: tf.Tensor3D;
  readonly beta: tf.Tensor2D;
  /** Input of the output projection, `[B, T, H·dv]`. */
  readonly mixed: tf.Tensor3D;
}

/**
 * The DeltaNet token mixer: bias-free q/k/v projections, a causal depthwise short convolution with
 * SiLU on each (left padding + 'valid': tfjs has no causal conv), feature map and L2 norm on q and
 * k, β = sigmoid(W_β x [+ b_β]) per head, the delta rule (or plain linear attention: `rule: 'linear'`),
 * per-head RMSNorm and an output projection. `[B, T, D]` → `[B, T, D]`.
 */
export class DeltaNetMixer extends tf.layers.Layer {
  static className = 'DeltaNetMixer';
  readonly heads: number;
  readonly headDim: number;
  readonly rule: StateRule;
  readonly featureMap: FeatureMap;
  readonly useBeta: boolean;
  readonly allowNegEigval: boolean;
  /** Initial value of the β gate's per-head bias; undefined: the layer has no bias. */
  readonly betaBias: number | undefined;
  readonly chunk: number;
  readonly convWidth: number;
  readonly seed: number | undefined;
  /** Not serialised: a loaded model trains chunkwise unless told otherwise. */
  form: MixerForm = 'chunkwise';
  /** When set, the next call hands its operands here (kept tensors; the caller disposes them). */
  captureOperands: ((operands: MixerOperands) => void) | undefined;
  /** Recording only, not serialised: quantise the output projection's input to multiples of θ. */
  dalTheta: number | undefined;
  private weightsByName = new Map<string, tf.LayerVariable>();

  constructor(args: DeltaNetMixerArgs) {
    super(args);
    this.heads = args.heads;
    this.headDim = args.headDim;
    this.rule = args.rule;
    this.featureMap = args.featureMap ?? 'silu';
    this.useBeta = args.useBeta ?? true;
    this.allowNegEigval = args.allowNegEigval ?? false;
    this.betaBias = args.betaBias;
    this.chunk = args.chunk ?? 16;
    this.convWidth = args.convWidth ?? 4;
    this.seed = args.seed;
  }

  private get usesBeta(): boolean {
    return this.rule === 'delta' && this.useBeta;
  }

  /** Whether the β gate has the trainable bias `b_beta`. */
  get hasBetaBias(): boolean {
    return this.usesBeta && this.betaBias !== undefined;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = inputShape as tf.Shape;
    const width = shape[shape.length - 1];
    if (typeof width !== 'number') throw new Error('DeltaNetMixer needs a known model width');
    const inner = this.heads * this.headDim;
    let seed = this.seed;
    const next = (): number | undefined => {
      if (seed === undefined) return undefined;
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed;
    };
    const add = (name: string, dims: number[], init: Initializer) => {
      this.weightsByName.set(name, this.addWeight(name, dims, 'float32', init));
    };
    for (const p of ['q', 'k', 'v']) add(`w_${p}`, [width, inner], seededGlorot(next()));
    // PyTorch's Conv1d default for a depthwise width-w kernel: U(−1/√w, 1/√w).
    const bound = 1 / Math.sqrt(this.convWidth);
    for (const p of ['q', 'k', 'v']) {
      const s = next();
      add(
        `conv_${p}`,
        [1, this.convWidth, inner, 1],
        tf.initializers.randomUniform({
          minval: -bound,
          maxval: bound,
          ...(s === undefined ? {} : { seed: s }),
        }),
      );
    }
    if (this.usesBeta) add('w_beta', [width, this.heads], seededGlorot(next()));
    if (this.hasBetaBias) add('b_beta', [this.heads], tf.initializers.constant({ value: this.betaBias! }));
    add('norm_gain', [this.headDim], tf.initializers.ones());
    add('w_o', [inner, width], seededGlorot(next()));
    this.built = true;
  }

  private weight(name: string): tf.Tensor {
    const w = this.weightsByName.get(name);
    if (!w) throw new Error(`${this.name}: weight ${name} is not built`);
    return w.read();
  }

  /** Causal depthwise conv over time: left-pad by width−1, then a 'valid' [1, w] depthwise conv. */
  private shortConv(x: tf.Tensor, name: string): tf.Tensor {
    const [b, t, c] = x.shape as [number, number, number];
    const padded = tf.pad(tf.reshape(x, [b, 1, t, c]), [
      [0, 0],
      [0, 0],
      [this.convWidth - 1, 0],
      [0, 0],
    ]) as tf.Tensor4D;
    const y = tf.depthwiseConv2d(padded, this.weight(name) as tf.Tensor4D, 1, 'valid');
    return tf.reshape(y, [b, t, c]);
  }

  /** [B, T, H·d] → [B·H, T, d]. */
  private splitHeads(x: tf.Tensor): tf.Tensor3D {
    const [b, t] = x.shape as [number, number, number];
    const h = this.heads;
    const d = this.headDim;
    return tf.reshape(tf.transpose(tf.reshape(x, [b, t, h, d]), [0, 2, 1, 3]), [b * h, t, d]) as tf.Tensor3D;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor3D;
    const [b, t] = x.shape as [number, number, number];
    const h = this.heads;
    const d = this.headDim;
    const phi = this.featureMap === 'relu' ? tf.relu : silu;
    // L2 norm per head (after the split): each head's key must have unit length.
    const preQ = project(x, this.weight('w_q'));
    const preK = project(x, this.weight('w_k'));
    const preV = project(x, this.weight('w_v'));
    const q = l2Normalise(this.splitHeads(phi(this.shortConv(preQ, 'conv_q'))));
    const k = l2Normalise(this.splitHeads(phi(this.shortConv(preK, 'conv_k'))));
    const v = this.splitHeads(silu(this.shortConv(preV, 'conv_v')));
    let beta: tf.Tensor2D;
    if (this.usesBeta) {
      const logit = project(x, this.weight('w_beta')); // [B, T, H]
      const gate = tf.sigmoid(this.hasBetaBias ? tf.add(logit, this.weight('b_beta')) : logit);
      const scaled = this.allowNegEigval ? tf.mul(gate, 2) : gate;
      beta = tf.reshape(tf.transpose(scaled, [0, 2, 1]), [b * h, t]) as tf.Tensor2D;
    } else {
      beta = tf.ones([b * h, t]) as tf.Tensor2D;
    }
    const rule = { q, k, v, beta };
    const { output } =
      this.form === 'recurrent'
        ? deltaRuleRecurrent(rule, { rule: this.rule })
        : deltaRuleChunkwise(rule, { rule: this.rule, chunk: this.chunk });
    const normed = rmsNormalise(output, this.weight('norm_gain'), RMS_EPSILON);
    const merged = dalQuantise(
      tf.reshape(tf.transpose(tf.reshape(normed, [b, h, t, d]), [0, 2, 1, 3]), [b, t, h * d]),
      this.dalTheta,
    );
    if (this.captureOperands) {
      this.captureOperands({
        input: tf.keep(x.clone()),
        preConvQ: tf.keep(preQ as tf.Tensor3D),
        preConvK: tf.keep(preK as tf.Tensor3D),
        preConvV: tf.keep(preV as tf.Tensor3D),
        q: tf.keep(q),
        k: tf.keep(k),
        v: tf.keep(v),
        beta: tf.keep(beta),
        mixed: tf.keep(merged as tf.Tensor3D),
      });
    }
    return project(merged, this.weight('w_o'));
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      heads: this.heads,
      headDim: this.headDim,
      rule: this.rule,
      featureMap: this.featureMap,
      useBeta: this.useBeta,
      allowNegEigval: this.allowNegEigval,
      ...(this.betaBias === undefined ? {} : { betaBias: this.betaBias }),
      chunk: this.chunk,
      convWidth: this.convWidth,
      ...(this.seed === undefined ? {} : { seed: this.seed }),
    };
  }
}

/** SwiGLU MLP without biases: (silu(x W₁) ⊙ x W₃) W₂. */
export class SwiGlu extends tf.layers.Layer {
  static className = 'SwiGlu';
  readonly hidden: number;
  readonly seed: number | undefined;
  /** When set, the next call hands its matmul inputs here (kept tensors; the caller disposes them). */
  captureOperands: ((operands: { input: tf.Tensor3D; gated: tf.Tensor3D }) => void) | undefined;
  /** Recording only, not serialised: quantise the down projection's input to multiples of θ. */
  dalTheta: number | undefined;
  private w1: tf.LayerVariable | undefined;
  private w2: tf.LayerVariable | undefined;
  private w3: tf.LayerVariable | undefined;

  constructor(args: { name?: string; hidden: number; seed?: number; trainable?: boolean }) {
    super(args);
    this.hidden = args.hidden;
    this.seed = args.seed;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = inputShape as tf.Shape;
    const width = shape[shape.length - 1];
    if (typeof width !== 'number') throw new Error('SwiGlu needs a known model width');
    const s = (i: number) => (this.seed === undefined ? undefined : (this.seed + i) >>> 0);
    this.w1 = this.addWeight('w_gate', [width, this.hidden], 'float32', seededGlorot(s(1)));
    this.w3 = this.addWeight('w_up', [width, this.hidden], 'float32', seededGlorot(s(2)));
    this.w2 = this.addWeight('w_down', [this.hidden, width], 'float32', seededGlorot(s(3)));
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    const gated = dalQuantise(
      tf.mul(silu(project(x, this.w1!.read())), project(x, this.w3!.read())),
      this.dalTheta,
    );
    if (this.captureOperands) {
      this.captureOperands({
        input: tf.keep(x.clone()) as tf.Tensor3D,
        gated: tf.keep(gated) as tf.Tensor3D,
      });
    }
    return project(gated, this.w2!.read());
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      hidden: this.hidden,
      ...(this.seed === undefined ? {} : { seed: this.seed }),
    };
  }
}

/** Every custom layer a saved DeltaNet model needs registered before `loadModel`. */
export const DELTANET_LAYER_CLASSES = [RmsNorm, DeltaNetMixer, SwiGlu] as const;
