import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDeltaCnn, deltaActivationLayers } from '../../../src/nn/models/delta-cnn.js';
import { recordDeltaCnn } from '../../../src/nn/record/record-delta-cnn.js';
import { loadTf, type TfRuntime } from '../../../src/nn/runtime.js';
import { tensorName } from '../../../src/trace/manifest.js';
import { unpackMask } from '../../../src/trace/mask.js';
import { openTrace } from '../../../src/trace/reader.js';

let runtime: TfRuntime;
let root: string;
beforeAll(async () => {
  runtime = await loadTf({ prefer: 'wasm' });
  root = await mkdtemp(join(tmpdir(), 'deltasim-record-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('recordDeltaCnn', () => {
  it('round-trips through the trace reader: manifest, q_t, Δ_t, masks, weights, key frames', async () => {
    const frames = 3;
    const model = buildDeltaCnn({ variant: 'dal', seed: 8, frames, thresholdInit: 0.1 });
    const out = join(root, 'dal.safetensors');
    const result = await recordDeltaCnn(runtime, model, {
      out,
      clips: 2,
      seed: 5,
      modelName: 'delta-cnn-dal',
      producer: 'deltasim test',
    });
    expect(result.steps).toBe(6);
    const trace = await openTrace(out);
    try {
      const { manifest } = trace;
      expect(manifest.layers.map((l) => l.name)).toEqual([
        'conv1',
        'conv2',
        'conv3',
        'conv4',
        'fc1',
        'logits',
      ]);
      expect(manifest.steps.map((s) => [s.sequence, s.position, s.keyFrame])).toEqual([
        [0, 0, true],
        [0, 1, false],
        [0, 2, false],
        [1, 0, true],
        [1, 1, false],
        [1, 2, false],
      ]);
      const conv2 = manifest.layers[1]!;
      expect(conv2).toMatchObject({
        op: 'conv2d',
        inputShape: [16, 16, 16],
        kernel: [3, 3],
        stride: [2, 2],
        padding: [0, 1, 0, 1],
        gemm: { m: 64, n: 32, k: 144 },
        gemmCount: 1,
      });
      const theta = deltaActivationLayers(model)
        .find((d) => d.name === 'dal_conv2')!
        .thetaValues();
      expect(conv2.deltaThreshold).toEqual(theta);
      for (const layer of manifest.layers) {
        const weight = await trace.readValues(tensorName(layer.name, 'weight'));
        expect(Array.from(weight)).toEqual(
          Array.from(model.getLayer(layer.name).getWeights()[0]!.dataSync()),
        );
      }
      for (const layer of ['conv1', 'conv3', 'fc1']) {
        const q0 = await trace.readValues(tensorName(layer, 'input', 3));
        const q1 = await trace.readValues(tensorName(layer, 'input', 4));
        const d0 = await trace.readValues(tensorName(layer, 'delta', 3));
        const d1 = await trace.readValues(tensorName(layer, 'delta', 4));
        expect(Array.from(d0)).toEqual(Array.from(q0));
        expect(Array.from(d1)).toEqual(Array.from(q1).map((v, i) => Math.fround(v - q0[i]!)));
        const mask = unpackMask(await trace.readMask(tensorName(layer, 'delta', 4)), d1.length);
        expect(Array.from(mask)).toEqual(Array.from(d1).map((v) => (v !== 0 ? 1 : 0)));
      }
      // Quantised inputs are multiples of their channel's θ.
      const q = await trace.readValues(tensorName('conv3', 'input', 1));
      q.forEach((v, i) => {
        const th = manifest.layers[2]!.deltaThreshold![i % 32]!;
        expect(Math.abs(v / th - Math.round(v / th))).toBeLessThan(1e-3);
      });
    } finally {
      await trace.close();
    }
  });
});
