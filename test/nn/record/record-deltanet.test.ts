import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Tensor3D } from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateMqar } from '../../../src/nn/data/mqar.js';
import { tokenTensor } from '../../../src/nn/eval/sequence-accuracy.js';
import { deltaRuleRecurrent } from '../../../src/nn/layers/delta-rule.js';
import type { MixerOperands } from '../../../src/nn/layers/deltanet-layers.js';
import { buildDeltaNet, deltaNetMixers, swiGluHidden } from '../../../src/nn/models/deltanet.js';
import { recordDeltaNet } from '../../../src/nn/record/record-deltanet.js';
import { loadTf, type TfRuntime } from '../../../src/nn/runtime.js';
import { traceChunkOperands } from '../../../src/replay/chunk-replay.js';
import { chunkProducts } from '../../../src/trace/chunk-schedule.js';
import { tensorName } from '../../../src/trace/manifest.js';
import { openTrace } from '../../../src/trace/reader.js';

let runtime: TfRuntime;
let root: string;
beforeAll(async () => {
  runtime = await loadTf({ prefer: 'wasm' });
  root = await mkdtemp(join(tmpdir(), 'deltasim-record-deltanet-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const BLOCK_LAYERS = [
  'wq',
  'wk',
  'wv',
  'wbeta',
  'conv_q',
  'conv_k',
  'conv_v',
  'retrieve',
  'update',
  'readout',
  'wo',
];

describe('recordDeltaNet', () => {
  it('records the three state products per head and token (3·d_k·d_v MACs), the projections and the head', async () => {
    const heads = 2;
    const d = 4;
    const model = buildDeltaNet({ vocab: 24, dModel: heads * d, layers: 2, heads, mixer: 'delta', seed: 2 });
    const batch = generateMqar({ vocab: 24, seqLen: 12, pairs: 2, count: 2, seed: 3 });
    const out = join(root, 'delta.safetensors');
    const result = await recordDeltaNet(runtime, model, {
      out,
      batch,
      seed: 3,
      modelName: 'tiny',
      producer: 'deltasim test',
    });
    expect(result.steps).toBe(24);
    const trace = await openTrace(out);
    try {
      const { manifest } = trace;
      expect(manifest.layers.map((l) => l.name)).toEqual([
        ...BLOCK_LAYERS.map((n) => `block0_${n}`),
        ...BLOCK_LAYERS.map((n) => `block1_${n}`),
        'lm_head',
      ]);
      const stateMacs = manifest.layers
        .filter((l) => l.op === 'delta-rule' && l.name.startsWith('block0_'))
        .reduce((sum, l) => sum + l.gemm.m * l.gemm.n * l.gemm.k * l.gemmCount, 0);
      expect(stateMacs).toBe(3 * d * d * heads);
      expect(manifest.steps.filter((s) => s.keyFrame).map((s) => s.index)).toEqual([0, 12]);

      // The readout's state at each sequence's last token is the tfjs recurrence's final state
      // (an independent implementation: tf ops in float32 vs the recorder's float64 loop).
      const captured: MixerOperands[] = [];
      for (const m of deltaNetMixers(model)) m.captureOperands = (o) => captured.push(o);
      const x = tokenTensor(runtime.tf, batch, 1, 1);
      runtime.tf.tidy(() => {
        model.predict(x);
      });
      for (const m of deltaNetMixers(model)) m.captureOperands = undefined;
      const ops = captured[1]!;
      const { state } = deltaRuleRecurrent(
        { q: ops.q as Tensor3D, k: ops.k as Tensor3D, v: ops.v as Tensor3D, beta: ops.beta },
        { rule: 'delta' },
      );
      const expected = state.dataSync();
      const recorded = await trace.readValues(tensorName('block1_readout', 'rhs', 23));
      let diff = 0;
      let scale = 0;
      expected.forEach((v, i) => {
        diff = Math.max(diff, Math.abs(v - recorded[i]!));
        scale = Math.max(scale, Math.abs(v));
      });
      expect(scale).toBeGreaterThan(0);
      expect(diff / scale).toBeLessThan(1e-5);
      // The retrieve's state at a sequence start is zero: nothing stored yet.
      const first = await trace.readValues(tensorName('block0_retrieve', 'rhs', 12));
      expect(first.every((v) => v === 0)).toBe(true);
      runtime.tf.dispose([x, state, ...captured.flatMap((o) => Object.values(o))]);
    } finally {
      await trace.close();
    }
  });

  it('describes the chunked schedule of every block; the reader checks it', async () => {
    const model = buildDeltaNet({
      vocab: 24,
      dModel: 8,
      layers: 2,
      heads: 2,
      mixer: 'linear',
      chunk: 4,
      seed: 5,
    });
    const batch = generateMqar({ vocab: 24, seqLen: 12, pairs: 2, count: 1, seed: 3 });
    const out = join(root, 'linear.safetensors');
    await recordDeltaNet(runtime, model, {
      out,
      batch,
      seed: 3,
      modelName: 'tiny',
      producer: 'deltasim test',
    });
    const trace = await openTrace(out);
    try {
      const { chunkwise } = trace.manifest;
      expect(chunkwise?.chunk).toBe(4);
      expect(chunkwise?.blocks.map((b) => b.replaces)).toEqual([
        ['block0_update', 'block0_readout'],
        ['block1_update', 'block1_readout'],
      ]);
      expect(chunkwise?.blocks[0]?.products).toEqual(chunkProducts('linear', 4, 4, 4));
      // Linear attention has no retrieve: the trace has no layer for it.
      expect(trace.manifest.layers.some((l) => l.name.endsWith('_retrieve'))).toBe(false);
    } finally {
      await trace.close();
    }
  });

  // With --neg-eigval β = 2σ(…): the manifest says so, or the schedule would rebuild half of it.
  it.each([false, true])(
    'a biased β gate (allowNegEigval %s): the manifest carries the trained bias, and the chunked schedule rebuilds the model β with it',
    async (allowNegEigval) => {
      const { tf } = runtime;
      const heads = 2;
      const d = 4;
      const chunk = 4;
      const model = buildDeltaNet({
        vocab: 24,
        dModel: heads * d,
        layers: 1,
        heads,
        mixer: 'delta',
        chunk,
        betaBias: 0,
        allowNegEigval,
        seed: 7,
      });
      const mixer = deltaNetMixers(model)[0]!;
      // Far apart per head: β near 0.05 and 0.95 (0.1 and 1.9 with allowNegEigval), where no bias
      // would give about ½ (1) for both.
      const bias = [-3, 3];
      mixer.weights.find((w) => w.originalName.endsWith('/b_beta'))!.write(tf.tensor1d(bias));
      const batch = generateMqar({ vocab: 24, seqLen: 12, pairs: 2, count: 1, seed: 8 });
      const out = join(root, `beta-bias-${allowNegEigval}.safetensors`);
      await recordDeltaNet(runtime, model, {
        out,
        batch,
        seed: 8,
        modelName: 'tiny',
        producer: 'deltasim test',
      });
      const captured: MixerOperands[] = [];
      mixer.captureOperands = (o) => captured.push(o);
      const x = tokenTensor(tf, batch, 0, 1);
      tf.tidy(() => {
        model.predict(x);
      });
      mixer.captureOperands = undefined;
      const modelBeta = captured[0]!.beta.dataSync(); // [H, T] (batch 1)
      const trace = await openTrace(out);
      try {
        expect(trace.manifest.chunkwise?.blocks[0]?.betaBias).toEqual(bias);
        expect(trace.manifest.chunkwise?.blocks[0]?.allowNegEigval).toBe(allowNegEigval ? true : undefined);
        expect(Math.max(...modelBeta) > 1).toBe(allowNegEigval);
        // The solve's A row m holds β_m k_m·k_j (j < m); the kkt layer's A operand holds the keys.
        let chunkIndex = 0;
        let compared = 0;
        for await (const layers of traceChunkOperands(trace, 0)) {
          const keys = layers.find((l) => l.layer.product === 'kkt')!.a;
          const solve = layers.find((l) => l.layer.product === 'solve')!.a;
          for (let hd = 0; hd < heads; hd++) {
            for (let m = 1; m < chunk; m++) {
              const key = (j: number) => keys.subarray((hd * chunk + j) * d, (hd * chunk + j + 1) * d);
              const dot = key(m).reduce((s, v, i) => s + v * key(0)[i]!, 0);
              if (Math.abs(dot) < 0.2) continue;
              const beta = solve[(hd * chunk + m) * chunk]! / dot;
              expect(beta).toBeCloseTo(modelBeta[hd * 12 + chunkIndex * chunk + m]!, 2);
              compared++;
            }
          }
          chunkIndex++;
        }
        expect(compared).toBeGreaterThan(6);
      } finally {
        await trace.close();
        tf.dispose([x, ...captured.flatMap((o) => Object.values(o))]);
      }
    },
  );

  it('with a DAL threshold θ and an MLP: projection inputs are multiples of θ, deltas sum to them, MLP matmuls recorded', async () => {
    const heads = 2;
    const d = 4;
    const dModel = heads * d;
    const theta = 0.25;
    const model = buildDeltaNet({ vocab: 24, dModel, layers: 1, heads, mixer: 'delta', mlp: true, seed: 4 });
    const batch = generateMqar({ vocab: 24, seqLen: 12, pairs: 2, count: 1, seed: 6 });
    const out = join(root, 'dal.safetensors');
    const result = await recordDeltaNet(runtime, model, {
      out,
      batch,
      seed: 6,
      modelName: 'tiny',
      producer: 'deltasim test',
      deltaThreshold: theta,
    });
    expect(result.accuracy).toBeGreaterThanOrEqual(0);
    const trace = await openTrace(out);
    try {
      const byName = new Map(trace.manifest.layers.map((l) => [l.name, l]));
      const hidden = swiGluHidden(dModel);
      expect(byName.get('block0_mlp_gate')?.gemm).toEqual({ m: 1, n: hidden, k: dModel });
      expect(byName.get('block0_mlp_down')?.gemm).toEqual({ m: 1, n: dModel, k: hidden });
      const conv = byName.get('block0_conv_q')!;
      expect(conv.gemm.m * conv.gemm.n * conv.gemm.k * conv.gemmCount).toBe(4 * dModel);
      const projections = trace.manifest.layers.filter((l) => l.op === 'dense');
      expect(projections.map((l) => l.name)).toContain('block0_mlp_up');
      for (const layer of projections) {
        expect(layer.roles).toEqual(['input', 'delta', 'weight']);
        expect(layer.deltaThreshold).toEqual(new Array(layer.gemm.k).fill(theta));
        const sum = new Float64Array(layer.gemm.k);
        for (const step of trace.manifest.steps) {
          const input = await trace.readValues(tensorName(layer.name, 'input', step.index));
          const delta = await trace.readValues(tensorName(layer.name, 'delta', step.index));
          delta.forEach((v, i) => {
            sum[i]! += v;
          });
          input.forEach((v, i) => {
            expect(Math.abs(v / theta - Math.round(v / theta))).toBeLessThan(1e-4);
            expect(Math.abs(sum[i]! - v)).toBeLessThan(1e-5);
          });
        }
      }
      // The short convolution's window at a sequence start holds three zero tokens, then the projection.
      const window = await trace.readValues(tensorName('block0_conv_k', 'input', 0));
      expect(window.subarray(0, 3 * dModel).every((v) => v === 0)).toBe(true);
      expect(window.subarray(3 * dModel).some((v) => v !== 0)).toBe(true);
    } finally {
      await trace.close();
    }
    // The thresholds are recording-only: the model computes exactly again afterwards.
    expect(deltaNetMixers(model).every((m) => m.dalTheta === undefined)).toBe(true);
  });
});
