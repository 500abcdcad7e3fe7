import * as tf from '@tensorflow/tfjs';
import type { StateRule } from '../layers/delta-rule.js';
import {
  DeltaNetMixer,
  type FeatureMap,
  type MixerForm,
  RmsNorm,
  SwiGlu,
} from '../layers/deltanet-layers.js';

export interface DeltaNetOptions {
  readonly vocab: number;
  readonly dModel: number;
  readonly layers: number;
  readonly heads: number;
  /** `delta`: DeltaNet; `linear`: the same model with plain linear attention (S += k vᵀ). */
  readonly mixer: StateRule;
  readonly featureMap?: FeatureMap;
  readonly useBeta?: boolean;
  readonly allowNegEigval?: boolean;
  /** Initial per-head bias of the β gate, β = sigmoid(W_β x + b_β); absent: no bias. */
  readonly betaBias?: number;
  /**
   * Start the LM head as the transposed embedding (Zoology ties the two; here they train apart
   * afterwards): a token's logit is then its embedding's dot product with the hidden state from
   * the first step, so recall has to learn to copy a value's embedding rather than also learning
   * one output row per value from the few labels each gets (4096 values at V = 8192).
   */
  readonly tiedHeadInit?: boolean;
  /** SwiGLU MLP after every mixer (hidden width 4·d_model rounded as in LLaMA: 8/3·d); Zoology's MQAR runs use none. */
  readonly mlp?: boolean;
  readonly chunk?: number;
  readonly seed: number;
}

export const DELTANET_DEFAULTS = {
  dModel: 64,
  layers: 2,
  heads: 2,
  chunk: 16,
  featureMap: 'silu',
} as const;

/** Layer names, shared by the model builder, the recorder and the trace manifest. */
export const deltaNetLayerNames = (block: number) => ({
  preNorm: `block${block}_norm1`,
  mixer: `block${block}_mixer`,
  mlpNorm: `block${block}_norm2`,
  mlp: `block${block}_mlp`,
});

/** SwiGLU hidden width: ⌈(8/3)·d / 8⌉·8 keeps the MLP's MACs near a 4·d GELU MLP. */
export function swiGluHidden(dModel: number): number {
  return Math.ceil((8 * dModel) / 3 / 8) * 8;
}

/**
 * Token ids `[B, T]` → next-token logits `[B, T, vocab]`: embedding, `layers` pre-norm residual
 * blocks (RMSNorm → mixer → +, optionally RMSNorm → SwiGLU → +), final RMSNorm, bias-free LM head.
 */
export function buildDeltaNet(options: DeltaNetOptions): tf.LayersModel {
  const { vocab, dModel, layers, heads } = options;
  if (dModel % heads !== 0) throw new Error(`d_model ${dModel} is not divisible by ${heads} heads`);
  let seed = options.seed >>> 0;
  const nextSeed = (): number => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed;
  };
  const input = tf.input({ shape: [null], dtype: 'int32', name: 'tokens' });
  const embedding = tf.layers.embedding({
    name: 'embedding',
    inputDim: vocab,
    outputDim: dModel,
    embeddingsInitializer: tf.initializers.randomNormal({ stddev: 0.02, seed: nextSeed() }),
  });
  let x = embedding.apply(input) as tf.SymbolicTensor;
  for (let i = 0; i < layers; i++) {
    const names = deltaNetLayerNames(i);
    const normed = new RmsNorm({ name: names.preNorm }).apply(x) as tf.SymbolicTensor;
    const mixed = new DeltaNetMixer({
      name: names.mixer,
      heads,
      headDim: dModel / heads,
      rule: options.mixer,
      featureMap: options.featureMap ?? DELTANET_DEFAULTS.featureMap,
      useBeta: options.useBeta ?? true,
      allowNegEigval: options.allowNegEigval ?? false,
      ...(options.betaBias === undefined ? {} : { betaBias: options.betaBias }),
      chunk: options.chunk ?? DELTANET_DEFAULTS.chunk,
      seed: nextSeed(),
    }).apply(normed) as tf.SymbolicTensor;
    x = tf.layers.add({ name: `block${i}_residual1` }).apply([x, mixed]) as tf.SymbolicTensor;
    if (options.mlp) {
      const n2 = new RmsNorm({ name: names.mlpNorm }).apply(x) as tf.SymbolicTensor;
      const m = new SwiGlu({ name: names.mlp, hidden: swiGluHidden(dModel), seed: nextSeed() }).apply(
        n2,
      ) as tf.SymbolicTensor;
      x = tf.layers.add({ name: `block${i}_residual2` }).apply([x, m]) as tf.SymbolicTensor;
    }
  }
  x = new RmsNorm({ name: 'final_norm' }).apply(x) as tf.SymbolicTensor;
  const head = tf.layers.dense({
    name: 'lm_head',
    units: vocab,
    useBias: false,
    kernelInitializer: tf.initializers.glorotUniform({ seed: nextSeed() }),
  });
  const logits = head.apply(x) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: logits, name: `deltanet-${options.mixer}` });
  if (options.tiedHeadInit) tf.tidy(() => head.setWeights([tf.transpose(embedding.getWeights()[0]!)]));
  return model;
}

const trunks = new WeakMap<tf.LayersModel, tf.LayersModel>();

/**
 * The model up to the LM head (`[B, T]` → final-normed hidden states `[B, T, d_model]`), sharing
 * the model's layers and weights; built once per model.
 */
export function deltaNetTrunk(model: tf.LayersModel): tf.LayersModel {
  let trunk = trunks.get(model);
  if (!trunk) {
    trunk = tf.model({
      inputs: model.inputs,
      outputs: model.getLayer('final_norm').output as tf.SymbolicTensor,
    });
    trunks.set(model, trunk);
  }
  return trunk;
}

/** Flat indices b·T + t of the scored positions (label ≥ 0) of `labels`. */
export function scoredPositions(labels: Int32Array): Int32Array {
  const at: number[] = [];
  for (let i = 0; i < labels.length; i++) if (labels[i]! >= 0) at.push(i);
  return Int32Array.from(at);
}

/**
 * Logits `[P, V]` of the P flat positions `positions` of `tokens` `[B, T]` only: the trunk on every
 * token, then the LM head on the gathered hidden states. Recall tasks score a few positions per
 * sequence, and with a large vocabulary the head over all B·T positions costs more than the rest of
 * the model; the rows equal the full logits' rows at those positions.
 */
export function positionLogits(
  model: tf.LayersModel,
  tokens: tf.Tensor,
  positions: Int32Array,
  training = false,
): tf.Tensor2D {
  return tf.tidy(() => {
    const hidden = deltaNetTrunk(model).apply(tokens, { training }) as tf.Tensor;
    const d = hidden.shape[hidden.shape.length - 1]!;
    const picked = tf.gather(tf.reshape(hidden, [-1, d]), tf.tensor1d(positions, 'int32'));
    return model.getLayer('lm_head').apply(picked) as tf.Tensor2D;
  });
}

/** The mixers of a model, in block order. */
export function deltaNetMixers(model: tf.LayersModel): DeltaNetMixer[] {
  return model.layers.filter((l): l is DeltaNetMixer => l instanceof DeltaNetMixer);
}

/** Switches every mixer between the chunkwise (training) and the token-by-token form. */
export function setMixerForm(model: tf.LayersModel, form: MixerForm): void {
  for (const m of deltaNetMixers(model)) m.form = form;
}
