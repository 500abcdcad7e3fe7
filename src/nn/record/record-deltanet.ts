import type * as tfTypes from '@tensorflow/tfjs';
import {
  CHUNKWISE_SCHEMA,
  type ChunkwiseBlock,
  type ChunkwiseSchedule,
  chunkProducts,
} from '../../trace/chunk-schedule.js';
import type { TraceLayer } from '../../trace/manifest.js';
import type { StepTensor } from '../../trace/writer.js';
import type { SequenceBatch } from '../data/sequence-task.js';
import { sequenceAccuracy, tokenTensor } from '../eval/sequence-accuracy.js';
import { DeltaNetMixer, type MixerOperands, RmsNorm, SwiGlu } from '../layers/deltanet-layers.js';
import { deltaNetLayerNames, deltaNetMixers, deltaNetTrunk } from '../models/deltanet.js';
import type { TfRuntime } from '../runtime.js';
import { openRecording, type RecordingOptions } from './open-recording.js';

export interface RecordDeltaNetOptions extends RecordingOptions {
  /** The sequences to record (one trace step per token). */
  readonly batch: SequenceBatch;
  /** DAL step θ for every projection input (quantise to multiples of θ, record deltas); none: exact. */
  readonly deltaThreshold?: number;
  readonly log?: (line: string) => void;
}

/** The three state matrix–vector products of one delta-rule token, as trace layer names. */
export const deltaRuleLayerNames = (block: number) => ({
  retrieve: `block${block}_retrieve`,
  update: `block${block}_update`,
  readout: `block${block}_readout`,
});

interface StaticWeight {
  readonly name: string;
  readonly values: () => Float32Array;
  readonly shape: readonly number[];
}

/**
 * A projection (static weight [K, N]): with a DAL threshold θ it stores q_t and Δ_t = q_t − q_{t−1}
 * with θ per input channel, as the delta-cnn recorder does for its DAL layers.
 */
function dense(name: string, k: number, n: number, theta: number | undefined): TraceLayer {
  return {
    name,
    op: 'dense',
    inputShape: [1, k],
    outputShape: [1, n],
    operandShape: [k, n],
    gemm: { m: 1, n, k },
    gemmCount: 1,
    structural: 'none',
    roles: theta === undefined ? ['input', 'weight'] : ['input', 'delta', 'weight'],
    ...(theta === undefined ? {} : { deltaThreshold: new Array<number>(k).fill(theta) }),
  };
}

/**
 * The causal short convolution of one of q, k, v at a token: per channel the last `width` values of
 * the projection (zeros before the sequence start), `[1, width, C]` · kernel `[1, width, C, 1]`.
 */
function shortConv(name: string, width: number, channels: number): TraceLayer {
  return {
    name,
    op: 'depthwise',
    inputShape: [1, width, channels],
    outputShape: [1, 1, channels],
    operandShape: [1, width, channels, 1],
    kernel: [1, width],
    stride: [1, 1],
    padding: [0, 0, 0, 0],
    dilation: [1, 1],
    gemm: { m: 1, n: 1, k: width },
    gemmCount: channels,
    structural: 'none',
    roles: ['input', 'weight'],
  };
}
/** A delta-rule product: per head an [m×k]·[k×n] GEMM whose B operand (`rhs`) changes every token. */
function stateProduct(name: string, heads: number, m: number, k: number, n: number): TraceLayer {
  return {
    name,
    op: 'delta-rule',
    inputShape: [heads, m * k],
    outputShape: [heads, m * n],
    operandShape: [heads, k, n],
    gemm: { m, n, k },
    gemmCount: heads,
    structural: 'none',
    roles: ['input', 'rhs'],
  };
}

/** Host copies of one sequence's operands of a block (row-major, batch 1). */
interface BlockOperands {
  readonly input: Float32Array;
  readonly preConv: readonly [Float32Array, Float32Array, Float32Array];
  readonly q: Float32Array;
  readonly k: Float32Array;
  readonly v: Float32Array;
  readonly beta: Float32Array;
  readonly mixed: Float32Array;
  readonly mlp?: { readonly input: Float32Array; readonly gated: Float32Array };
}

/**
 * Records a DeltaNet (or linear-attention) model token by token. Per token and block: the inputs of
 * the q/k/v/β projections (the block's pre-norm output); the three causal short convolutions
 * (depthwise, width 4, over the last 4 projected tokens); the state products of the recurrence per
 * head — retrieve v̂ = Sᵀk (input k, rhs S_{t−1}), the rank-1 update ΔS = k·uᵀ (input k, rhs
 * u = β(v − v̂), so β is folded into u), readout o = Sᵀq (input q/√d_k, rhs S_t); the output
 * projection's input; with an MLP its three matmuls' inputs; and the LM head's input. Weights once.
 * The state is carried in float64 from the model's own q, k, v, β, so every recorded readout is
 * reproducible from the recorded operands. `manifest.chunkwise` describes the chunked schedule of the
 * same state products. With `deltaThreshold` θ every projection input is quantised to multiples of θ
 * inside the model (a DAL in front of each projection) and recorded with its token-to-token delta.
 */
export async function recordDeltaNet(
  runtime: TfRuntime,
  model: tfTypes.LayersModel,
  options: RecordDeltaNetOptions,
): Promise<{
  files: readonly string[];
  bytes: number;
  steps: number;
  accuracy: number;
  exactAccuracy: number;
}> {
  const { tf } = runtime;
  const theta = options.deltaThreshold;
  if (theta !== undefined && !(theta > 0 && Number.isFinite(theta))) {
    throw new RangeError(`delta threshold must be a positive number, got ${theta}`);
  }
  const mixers = deltaNetMixers(model);
  const mlps = mixers.map((_, b) => {
    const name = deltaNetLayerNames(b).mlp;
    return model.layers.find((l): l is SwiGlu => l instanceof SwiGlu && l.name === name);
  });
  const dModel = model.getLayer('final_norm').getWeights()[0]!.shape[0]!;
  const vocab = options.batch.vocab;
  const layers: TraceLayer[] = [];
  const weights: StaticWeight[] = [];
  const mixerWeight = (mixer: DeltaNetMixer, name: string) => () =>
    mixer
      .getWeights()
      [mixer.weights.findIndex((w) => w.originalName.endsWith(`/${name}`))]!.dataSync() as Float32Array;
  const addDense = (name: string, k: number, n: number, values: () => Float32Array) => {
    layers.push(dense(name, k, n, theta));
    weights.push({ name, values, shape: [k, n] });
  };
  const chunkBlocks: ChunkwiseBlock[] = [];
  mixers.forEach((mixer, b) => {
    const inner = mixer.heads * mixer.headDim;
    const names = deltaRuleLayerNames(b);
    const block = (p: string) => `block${b}_${p}`;
    addDense(block('wq'), dModel, inner, mixerWeight(mixer, 'w_q'));
    addDense(block('wk'), dModel, inner, mixerWeight(mixer, 'w_k'));
    addDense(block('wv'), dModel, inner, mixerWeight(mixer, 'w_v'));
    if (mixer.rule === 'delta' && mixer.useBeta) {
      addDense(block('wbeta'), dModel, mixer.heads, mixerWeight(mixer, 'w_beta'));
    }
    for (const p of ['q', 'k', 'v']) {
      layers.push(shortConv(block(`conv_${p}`), mixer.convWidth, inner));
      weights.push({
        name: block(`conv_${p}`),
        values: mixerWeight(mixer, `conv_${p}`),
        shape: [1, mixer.convWidth, inner, 1],
      });
    }
    const h = mixer.heads;
    const d = mixer.headDim;
    const replaced = [...(mixer.rule === 'delta' ? [names.retrieve] : []), names.update, names.readout];
    if (mixer.rule === 'delta') layers.push(stateProduct(names.retrieve, h, 1, d, d));
    layers.push(stateProduct(names.update, h, d, 1, d));
    layers.push(stateProduct(names.readout, h, 1, d, d));
    chunkBlocks.push({
      rule: mixer.rule,
      heads: h,
      dk: d,
      dv: d,
      replaces: replaced,
      products: chunkProducts(mixer.rule, mixer.chunk, d, d),
      ...(mixer.hasBetaBias ? { betaBias: Array.from(mixerWeight(mixer, 'b_beta')()) } : {}),
      ...(mixer.rule === 'delta' && mixer.useBeta && mixer.allowNegEigval
        ? { allowNegEigval: true as const }
        : {}),
    });
    addDense(block('wo'), inner, dModel, mixerWeight(mixer, 'w_o'));
    const mlp = mlps[b];
    if (mlp) {
      const [gate, up, down] = mlp.getWeights().map((w) => () => w.dataSync() as Float32Array);
      addDense(block('mlp_gate'), dModel, mlp.hidden, gate!);
      addDense(block('mlp_up'), dModel, mlp.hidden, up!);
      addDense(block('mlp_down'), mlp.hidden, dModel, down!);
    }
  });
  addDense(
    'lm_head',
    dModel,
    vocab,
    () => model.getLayer('lm_head').getWeights()[0]!.dataSync() as Float32Array,
  );
  const chunks = new Set(mixers.map((m) => m.chunk));
  if (chunks.size !== 1) throw new Error(`the mixers use different chunk sizes (${[...chunks].join(', ')})`);
  const chunkwise: ChunkwiseSchedule = {
    schema: CHUNKWISE_SCHEMA,
    chunk: [...chunks][0]!,
    blocks: chunkBlocks,
  };

  const { batch } = options;
  const exactAccuracy = sequenceAccuracy(tf, model, batch).accuracy;
  setDalThreshold(model, theta);
  const writer = await openRecording('deltanet', layers, options, { chunkwise });
  try {
    for (const w of weights) await writer.writeStatic(w.name, 'weight', w.values(), w.shape);
    const headInput = deltaNetTrunk(model);
    const t = batch.seqLen;
    let step = 0;
    for (let s = 0; s < batch.count; s++) {
      const host = captureSequence(runtime, headInput, mixers, mlps, batch, s);
      const states = mixers.map((m) => new Float64Array(m.heads * m.headDim * m.headDim));
      const previous = new Map<string, Float32Array>();
      for (let pos = 0; pos < t; pos++) {
        const tensors: StepTensor[] = [];
        // A projection's input, plus its delta (against the last token's) when recording deltas.
        const projectionInput = (layer: string, values: Float32Array) => {
          tensors.push({ layer, role: 'input', values, shape: [1, values.length] });
          if (theta === undefined) return;
          const before = previous.get(layer);
          const delta = before ? values.map((v, i) => v - before[i]!) : values;
          tensors.push({ layer, role: 'delta', values: delta, shape: [1, values.length] });
          previous.set(layer, values);
        };
        mixers.forEach((mixer, b) => {
          const h = mixer.heads;
          const d = mixer.headDim;
          const inner = h * d;
          const ops = host.blocks[b]!;
          const names = deltaRuleLayerNames(b);
          const normed = ops.input.slice(pos * dModel, (pos + 1) * dModel);
          for (const p of ['wq', 'wk', 'wv', 'wbeta']) {
            if (p === 'wbeta' && !(mixer.rule === 'delta' && mixer.useBeta)) continue;
            projectionInput(`block${b}_${p}`, normed);
          }
          ['q', 'k', 'v'].forEach((p, i) => {
            const width = mixer.convWidth;
            const window = new Float32Array(width * inner);
            // Window row j holds token pos − (width − 1) + j; tokens before the start are zero.
            for (let j = 0; j < width; j++) {
              const src = pos - (width - 1) + j;
              if (src >= 0) window.set(ops.preConv[i]!.subarray(src * inner, (src + 1) * inner), j * inner);
            }
            tensors.push({
              layer: `block${b}_conv_${p}`,
              role: 'input',
              values: window,
              shape: [1, width, inner],
            });
          });
          // Per head: rows of [B·H, T, d] with B = 1.
          const row = (a: Float32Array, head: number) =>
            a.subarray((head * t + pos) * d, (head * t + pos + 1) * d);
          const scale = 1 / Math.sqrt(d);
          const keys = new Float32Array(inner);
          const queries = new Float32Array(inner);
          const before = Float32Array.from(states[b]!);
          const update = new Float32Array(inner);
          const state = states[b]!;
          for (let head = 0; head < h; head++) {
            const k = row(ops.k, head);
            const v = row(ops.v, head);
            const q = row(ops.q, head);
            keys.set(k, head * d);
            for (let i = 0; i < d; i++) queries[head * d + i] = q[i]! * scale;
            const beta = ops.beta[head * t + pos]!;
            const sHead = head * d * d;
            for (let j = 0; j < d; j++) {
              let retrieved = 0;
              if (mixer.rule === 'delta')
                for (let i = 0; i < d; i++) retrieved += state[sHead + i * d + j]! * k[i]!;
              const u = mixer.rule === 'delta' ? beta * (v[j]! - retrieved) : v[j]!;
              update[head * d + j] = u;
              for (let i = 0; i < d; i++) state[sHead + i * d + j]! += k[i]! * Math.fround(u);
            }
          }
          if (mixer.rule === 'delta') {
            tensors.push({ layer: names.retrieve, role: 'input', values: keys, shape: [h, d] });
            tensors.push({ layer: names.retrieve, role: 'rhs', values: before, shape: [h, d, d] });
          }
          tensors.push({ layer: names.update, role: 'input', values: keys, shape: [h, d] });
          tensors.push({ layer: names.update, role: 'rhs', values: update, shape: [h, 1, d] });
          tensors.push({ layer: names.readout, role: 'input', values: queries, shape: [h, d] });
          tensors.push({
            layer: names.readout,
            role: 'rhs',
            values: Float32Array.from(state),
            shape: [h, d, d],
          });
          projectionInput(`block${b}_wo`, ops.mixed.slice(pos * inner, (pos + 1) * inner));
          if (ops.mlp) {
            const hidden = mlps[b]!.hidden;
            const mlpIn = ops.mlp.input.slice(pos * dModel, (pos + 1) * dModel);
            projectionInput(`block${b}_mlp_gate`, mlpIn);
            projectionInput(`block${b}_mlp_up`, mlpIn);
            projectionInput(`block${b}_mlp_down`, ops.mlp.gated.slice(pos * hidden, (pos + 1) * hidden));
          }
        });
        projectionInput('lm_head', host.finalNormed.slice(pos * dModel, (pos + 1) * dModel));
        await writer.writeStep({ index: step, sequence: s, position: pos, keyFrame: pos === 0 }, tensors);
        step += 1;
      }
      options.log?.(`recorded sequence ${s + 1}/${batch.count}`);
    }
    const accuracy = theta === undefined ? exactAccuracy : sequenceAccuracy(tf, model, batch).accuracy;
    const done = await writer.finish();
    return { ...done, steps: step, accuracy, exactAccuracy };
  } catch (error) {
    await writer.abort();
    throw error;
  } finally {
    setDalThreshold(model, undefined);
  }
}

/** Puts a DAL of step θ in front of every projection (or removes them: `undefined`). */
function setDalThreshold(model: tfTypes.LayersModel, theta: number | undefined): void {
  for (const l of model.layers) {
    if (l instanceof RmsNorm || l instanceof DeltaNetMixer || l instanceof SwiGlu) l.dalTheta = theta;
  }
}

/** Runs one sequence through the model and copies every block's operands to the host. */
function captureSequence(
  runtime: TfRuntime,
  headInput: tfTypes.LayersModel,
  mixers: readonly DeltaNetMixer[],
  mlps: readonly (SwiGlu | undefined)[],
  batch: SequenceBatch,
  sequence: number,
): { blocks: BlockOperands[]; finalNormed: Float32Array } {
  const { tf } = runtime;
  const captured: MixerOperands[] = [];
  const mlpCaptured = new Map<number, { input: tfTypes.Tensor3D; gated: tfTypes.Tensor3D }>();
  mixers.forEach((m) => {
    m.captureOperands = (o) => captured.push(o);
  });
  mlps.forEach((m, b) => {
    if (m) m.captureOperands = (o) => mlpCaptured.set(b, o);
  });
  const x = tokenTensor(tf, batch, sequence, 1);
  try {
    const finalNormed = tf.tidy(() => (headInput.predict(x) as tfTypes.Tensor).dataSync() as Float32Array);
    const host = (t: tfTypes.Tensor) => t.dataSync() as Float32Array;
    const blocks = captured.map((o, b) => {
      const mlp = mlpCaptured.get(b);
      return {
        input: host(o.input),
        preConv: [host(o.preConvQ), host(o.preConvK), host(o.preConvV)] as const,
        q: host(o.q),
        k: host(o.k),
        v: host(o.v),
        beta: host(o.beta),
        mixed: host(o.mixed),
        ...(mlp ? { mlp: { input: host(mlp.input), gated: host(mlp.gated) } } : {}),
      };
    });
    if (blocks.length !== mixers.length)
      throw new Error(`captured ${blocks.length} of ${mixers.length} mixers`);
    return { blocks, finalNormed };
  } finally {
    for (const m of mixers) m.captureOperands = undefined;
    for (const m of mlps) if (m) m.captureOperands = undefined;
    tf.dispose([
      x,
      ...captured.flatMap((o) => Object.values(o)),
      ...[...mlpCaptured.values()].flatMap((o) => [o.input, o.gated]),
    ]);
  }
}
