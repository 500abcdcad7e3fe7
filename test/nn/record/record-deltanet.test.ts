import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Tensor3D } from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateMqar } from '../../../src/nn/data/mqar.js';
import { tokenTensor } from '../../../src/nn/eval/sequence-accuracy.js';
import { deltaRuleRecurrent } from '../../../src/nn/layers/delta-rule.js';
import type { MixerOperands } from '../../../src/nn/layers/deltanet-layers.js';
import { buildDeltaNet, deltaNetMixers } from '../../../src/nn/models/deltanet.js';
import { recordDeltaNet } from '../../../src/nn/record/record-deltanet.js';
import { loadTf, type TfRuntime } from '../../../src/nn/runtime.js';
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
        ...['wq', 'wk', 'wv', 'wbeta', 'retrieve', 'update', 'readout', 'wo'].map((n) => `block0_${n}`),
        ...['wq', 'wk', 'wv', 'wbeta', 'retrieve', 'update', 'readout', 'wo'].map((n) => `block1_${n}`),
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
});
