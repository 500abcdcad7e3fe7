import * as tf from '@tensorflow/tfjs';
import type { ActivationKind, ChannelSplit } from '../models/iformer-config.js';

/**
 * The inception token mixer of iFormer (Si et al., NeurIPS 2022) on NHWC tensors, as plain tensor
 * functions so the layer, the tests' per-path reference and a recorder all run the same code.
 *
 *   x = [x_a | x_b | x_l]                       channels C_h/2, C_h/2, C_l
 *   A = act(DW3×3(x_a · W_a))                   1×1 conv C_h/2 → C_h, depthwise 3×3
 *   B = act(MaxPool3×3,s1(x_b) · W_b + b_b)     max-pool, 1×1 conv C_h/2 → C_h
 *   L = Up(MHSA(AvgPool(x_l)))                  pool p×p, self-attention, nearest upsample
 *   Y = [A | B | L];  out = (Y + DW3×3(Y)) · W_p + b_p
 */
export interface MixerWeights {
  /** [C_h/2, C_h] (no bias, as the paper's code). */
  readonly convA?: tf.Tensor2D;
  /** [3, 3, C_h, 1]. */
  readonly dwA?: tf.Tensor4D;
  /** [C_h/2, C_h] and [C_h]. */
  readonly convB?: tf.Tensor2D;
  readonly biasB?: tf.Tensor1D;
  /** [C_l, 3·C_l] and [3·C_l]: columns are q, k, v, each head after head. */
  readonly qkv?: tf.Tensor2D;
  readonly qkvBias?: tf.Tensor1D;
  /** [3, 3, 2·C_h + C_l, 1]. */
  readonly fuse: tf.Tensor4D;
  /** [2·C_h + C_l, C] and [C]. */
  readonly proj: tf.Tensor2D;
  readonly projBias: tf.Tensor1D;
}

/**
 * Where the mixer lets a caller look or step in. `tap` sees the operand each op consumes (recording);
 * `afterActivation` replaces a high-frequency path's activation output (video mode puts a Delta
 * Activation Layer there). Sites name the op whose input they carry.
 */
export interface MixerHooks {
  readonly tap?: (site: MixerSite, value: tf.Tensor) => void;
  readonly afterActivation?: (path: 'a' | 'b', value: tf.Tensor4D) => tf.Tensor4D;
}

/**
 * conv_a, dw_a, maxpool_b, conv_b, avgpool, qkv, upsample, fuse, proj: NHWC inputs of those ops;
 * queries (already scaled by 1/√d) and keys [B·heads, N, d] are QKᵀ's operands; scores the softmax
 * input and weights its output (AV's A operand), values AV's B operand, all [B·heads, N, ·].
 */
export type MixerSite =
  | 'conv_a'
  | 'dw_a'
  | 'maxpool_b'
  | 'conv_b'
  | 'avgpool'
  | 'qkv'
  | 'queries'
  | 'keys'
  | 'scores'
  | 'weights'
  | 'values'
  | 'upsample'
  | 'fuse'
  | 'proj';

export interface MixerSpec {
  readonly split: ChannelSplit;
  readonly headDim: number;
  readonly pool: number;
  readonly activation: ActivationKind;
}

/**
 * GELU, tanh form (differentiable from ops every backend has). x³ as products: tf.pow's gradient also
 * differentiates the exponent (logs and selects), which made it the costliest kernel of a training step.
 */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const cube = tf.mul(tf.square(x), x);
    const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, cube)));
    return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
  });
}

export function activate(x: tf.Tensor, kind: ActivationKind): tf.Tensor {
  return kind === 'relu' ? tf.relu(x) : gelu(x);
}

/** A 1×1 convolution as one 2-D matmul over all pixels (the fast path on wasm, also for gradients). */
export function pointwise(x: tf.Tensor4D, w: tf.Tensor2D, bias?: tf.Tensor1D): tf.Tensor4D {
  const [b, h, wd, c] = x.shape;
  let y = tf.matMul(tf.reshape(x, [b * h * wd, c]), w);
  if (bias) y = tf.add(y, bias);
  return tf.reshape(y, [b, h, wd, w.shape[1]]);
}

/** High-frequency path A: 1×1 conv, 3×3 depthwise conv, activation. */
export function pathA(x: tf.Tensor4D, w: MixerWeights, spec: MixerSpec, hooks: MixerHooks = {}): tf.Tensor4D {
  return tf.tidy(() => {
    hooks.tap?.('conv_a', x);
    const expanded = pointwise(x, w.convA!);
    hooks.tap?.('dw_a', expanded);
    const out = activate(tf.depthwiseConv2d(expanded, w.dwA!, 1, 'same'), spec.activation) as tf.Tensor4D;
    return hooks.afterActivation ? hooks.afterActivation('a', out) : out;
  });
}

/** High-frequency path B: 3×3 max-pool (stride 1), 1×1 conv, activation. */
export function pathB(x: tf.Tensor4D, w: MixerWeights, spec: MixerSpec, hooks: MixerHooks = {}): tf.Tensor4D {
  return tf.tidy(() => {
    hooks.tap?.('maxpool_b', x);
    const pooled = tf.maxPool(x, 3, 1, 'same');
    hooks.tap?.('conv_b', pooled);
    const out = activate(pointwise(pooled, w.convB!, w.biasB), spec.activation) as tf.Tensor4D;
    return hooks.afterActivation ? hooks.afterActivation('b', out) : out;
  });
}

/**
 * Low-frequency path: average-pool by `spec.pool`, multi-head self-attention over the pooled
 * tokens (softmax(QKᵀ/√d)·V per head), nearest-neighbour upsampling back to the input grid.
 */
export function lowPath(
  x: tf.Tensor4D,
  w: MixerWeights,
  spec: MixerSpec,
  hooks: MixerHooks = {},
): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, h, wd, c] = x.shape;
    if (spec.pool > 1) hooks.tap?.('avgpool', x);
    const pooled = spec.pool > 1 ? tf.avgPool(x, spec.pool, spec.pool, 'same') : x;
    const [, ph, pw] = pooled.shape;
    const tokens = ph * pw;
    const heads = spec.split.heads;
    const d = spec.headDim;
    hooks.tap?.('qkv', pooled);
    const qkv = tf.add(tf.matMul(tf.reshape(pooled, [b * tokens, c]), w.qkv!), w.qkvBias!);
    // [B, N, 3·heads, d] → [B, 3·heads, N, d]: q, k, v of each head as contiguous blocks.
    const perHead = tf.transpose(tf.reshape(qkv, [b, tokens, 3 * heads, d]), [0, 2, 1, 3]);
    const [q, k, v] = tf.split(perHead, 3, 1).map((t) => tf.reshape(t, [b * heads, tokens, d])) as [
      tf.Tensor3D,
      tf.Tensor3D,
      tf.Tensor3D,
    ];
    const queries = tf.mul(q, 1 / Math.sqrt(d));
    hooks.tap?.('queries', queries);
    hooks.tap?.('keys', k);
    const scores = tf.matMul(queries, k, false, true);
    hooks.tap?.('scores', scores);
    const weights = tf.softmax(scores);
    hooks.tap?.('weights', weights);
    hooks.tap?.('values', v);
    const attended = tf.matMul(weights, v);
    const merged = tf.reshape(tf.transpose(tf.reshape(attended, [b, heads, tokens, d]), [0, 2, 1, 3]), [
      b,
      ph,
      pw,
      c,
    ]) as tf.Tensor4D;
    if (spec.pool > 1) hooks.tap?.('upsample', merged);
    return spec.pool > 1 ? tf.image.resizeNearestNeighbor(merged, [h, wd]) : merged;
  });
}

/** The whole mixer: split, three paths, concatenation, Y + DW3×3(Y), 1×1 projection. */
export function inceptionMixer(
  x: tf.Tensor4D,
  w: MixerWeights,
  spec: MixerSpec,
  hooks: MixerHooks = {},
): tf.Tensor4D {
  return tf.tidy(() => {
    const { high, low } = spec.split;
    const sizes = [high / 2, high / 2, low].filter((n) => n > 0);
    const parts = sizes.length > 1 ? tf.split(x, sizes, 3) : [x];
    const outs: tf.Tensor4D[] = [];
    let at = 0;
    if (high > 0) {
      outs.push(pathA(parts[at++] as tf.Tensor4D, w, spec, hooks));
      outs.push(pathB(parts[at++] as tf.Tensor4D, w, spec, hooks));
    }
    if (low > 0) outs.push(lowPath(parts[at] as tf.Tensor4D, w, spec, hooks));
    const y = outs.length > 1 ? tf.concat(outs, 3) : outs[0]!;
    hooks.tap?.('fuse', y);
    const fused = tf.add(y, tf.depthwiseConv2d(y, w.fuse, 1, 'same')) as tf.Tensor4D;
    hooks.tap?.('proj', fused);
    return pointwise(fused, w.proj, w.projBias);
  });
}
