import type * as tfTypes from '@tensorflow/tfjs';
import type { TraceLayer } from '../../trace/manifest.js';
import type { StepTensor } from '../../trace/writer.js';
import type { SequenceBatch } from '../data/sequence-task.js';
import { tokenTensor } from '../eval/sequence-accuracy.js';
import type { DeltaNetMixer, MixerOperands } from '../layers/deltanet-layers.js';
import { deltaNetMixers } from '../models/deltanet.js';
import type { TfRuntime } from '../runtime.js';
import { openRecording, type RecordingOptions } from './open-recording.js';

export interface RecordDeltaNetOptions extends RecordingOptions {
  /** The sequences to record (one trace step per token). */
  readonly batch: SequenceBatch;
  readonly log?: (line: string) => void;
}

/** The three state matrix–vector products of one delta-rule token, as trace layer names. */
export const deltaRuleLayerNames = (block: number) => ({
  retrieve: `block${block}_retrieve`,
  update: `block${block}_update`,
  readout: `block${block}_readout`,
});

interface ProjectionSpec {
  readonly name: string;
  /** Model layer and weight holding the [K, N] matrix. */
  readonly weight: () => tfTypes.Tensor;
  readonly k: number;
  readonly n: number;
}

function dense(name: string, k: number, n: number): TraceLayer {
  return {
    name,
    op: 'dense',
    inputShape: [1, k],
    outputShape: [1, n],
    operandShape: [k, n],
    gemm: { m: 1, n, k },
    gemmCount: 1,
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

/**
 * Records a DeltaNet (or linear-attention) model token by token: per token and block the inputs of
 * the q/k/v/β projections (the block's pre-norm output) and of the output projection, the state
 * products of the recurrence per head — retrieve v̂ = Sᵀk (input k, rhs S_{t−1}), the rank-1 update
 * ΔS = k·uᵀ (input k, rhs u = β(v − v̂), so β is folded into u), readout o = Sᵀq (input q/√d_k, rhs
 * S_t) — and the LM head's input; the weights once. The state is carried in float64 from the
 * model's own q, k, v, β, so every recorded readout is reproducible from the recorded operands.
 */
export async function recordDeltaNet(
  runtime: TfRuntime,
  model: tfTypes.LayersModel,
  options: RecordDeltaNetOptions,
): Promise<{ files: readonly string[]; bytes: number; steps: number }> {
  const { tf } = runtime;
  const mixers = deltaNetMixers(model);
  if (model.layers.some((l) => l.getClassName() === 'SwiGlu')) {
    throw new Error('recording DeltaNet models with an MLP is not supported');
  }
  const dModel = model.getLayer('final_norm').getWeights()[0]!.shape[0]!;
  const vocab = options.batch.vocab;
  const layers: TraceLayer[] = [];
  const projections: ProjectionSpec[] = [];
  const weightOf = (mixer: DeltaNetMixer, name: string) => () =>
    mixer.getWeights()[mixer.weights.findIndex((w) => w.originalName.endsWith(`/${name}`))]!;
  mixers.forEach((mixer, b) => {
    const inner = mixer.heads * mixer.headDim;
    const names = deltaRuleLayerNames(b);
    const block = (p: string) => `block${b}_${p}`;
    const own: [string, string, number, number][] = [
      [block('wq'), 'w_q', dModel, inner],
      [block('wk'), 'w_k', dModel, inner],
      [block('wv'), 'w_v', dModel, inner],
      ...(mixer.rule === 'delta' && mixer.useBeta
        ? [[block('wbeta'), 'w_beta', dModel, mixer.heads] as [string, string, number, number]]
        : []),
    ];
    for (const [name, weight, k, n] of own) {
      layers.push(dense(name, k, n));
      projections.push({ name, weight: weightOf(mixer, weight), k, n });
    }
    const h = mixer.heads;
    const d = mixer.headDim;
    if (mixer.rule === 'delta') layers.push(stateProduct(names.retrieve, h, 1, d, d));
    layers.push(stateProduct(names.update, h, d, 1, d));
    layers.push(stateProduct(names.readout, h, 1, d, d));
    layers.push(dense(block('wo'), inner, dModel));
    projections.push({ name: block('wo'), weight: weightOf(mixer, 'w_o'), k: inner, n: dModel });
  });
  layers.push(dense('lm_head', dModel, vocab));
  projections.push({
    name: 'lm_head',
    weight: () => model.getLayer('lm_head').getWeights()[0]!,
    k: dModel,
    n: vocab,
  });

  const writer = await openRecording('deltanet', layers, options);
  try {
    for (const p of projections) {
      await writer.writeStatic(p.name, 'weight', p.weight().dataSync() as Float32Array, [p.k, p.n]);
    }
    const headInput = tf.model({
      inputs: model.inputs,
      outputs: model.getLayer('final_norm').output as tfTypes.SymbolicTensor,
    });
    const { batch } = options;
    const t = batch.seqLen;
    let step = 0;
    for (let s = 0; s < batch.count; s++) {
      const captured: MixerOperands[] = [];
      for (const m of mixers) m.captureOperands = (o) => captured.push(o);
      const x = tokenTensor(tf, batch, s, 1);
      const finalNormed = tf.tidy(() => (headInput.predict(x) as tfTypes.Tensor).dataSync() as Float32Array);
      for (const m of mixers) m.captureOperands = undefined;
      x.dispose();
      const host = captured.map((o) => ({
        input: o.input.dataSync() as Float32Array,
        q: o.q.dataSync() as Float32Array,
        k: o.k.dataSync() as Float32Array,
        v: o.v.dataSync() as Float32Array,
        beta: o.beta.dataSync() as Float32Array,
        mixed: o.mixed.dataSync() as Float32Array,
      }));
      for (const o of captured) tf.dispose(Object.values(o));
      const states = mixers.map((m) => new Float64Array(m.heads * m.headDim * m.headDim));
      for (let pos = 0; pos < t; pos++) {
        const tensors: StepTensor[] = [];
        mixers.forEach((mixer, b) => {
          const h = mixer.heads;
          const d = mixer.headDim;
          const inner = h * d;
          const ops = host[b]!;
          const names = deltaRuleLayerNames(b);
          const normed = ops.input.slice(pos * dModel, (pos + 1) * dModel);
          for (const p of ['wq', 'wk', 'wv', 'wbeta']) {
            if (p === 'wbeta' && !(mixer.rule === 'delta' && mixer.useBeta)) continue;
            tensors.push({ layer: `block${b}_${p}`, role: 'input', values: normed, shape: [1, dModel] });
          }
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
          tensors.push({
            layer: `block${b}_wo`,
            role: 'input',
            values: ops.mixed.slice(pos * inner, (pos + 1) * inner),
            shape: [1, inner],
          });
        });
        tensors.push({
          layer: 'lm_head',
          role: 'input',
          values: finalNormed.slice(pos * dModel, (pos + 1) * dModel),
          shape: [1, dModel],
        });
        await writer.writeStep({ index: step, sequence: s, position: pos, keyFrame: pos === 0 }, tensors);
        step += 1;
      }
      options.log?.(`recorded sequence ${s + 1}/${batch.count}`);
    }
    const done = await writer.finish();
    return { ...done, steps: step };
  } catch (error) {
    await writer.abort();
    throw error;
  }
}
