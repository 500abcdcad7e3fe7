import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as tfTypes from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrng } from '../../../src/common/prng.js';
import { isMacOp } from '../../../src/core/sparse/layer-lowering.js';
import type { ImageSet } from '../../../src/nn/data/mnist-digits.js';
import { generateVideoClips } from '../../../src/nn/data/video-clips.js';
import { blockDalName } from '../../../src/nn/layers/iformer-layers.js';
import { buildIFormer, iformerBlocks, iformerDeltaActivations } from '../../../src/nn/models/iformer.js';
import { IFORMER_VARIANTS, iformerMacs, iformerVideoMacs } from '../../../src/nn/models/iformer-config.js';
import { recordedImages, recordIFormer } from '../../../src/nn/record/record-iformer.js';
import { loadTf, type TfRuntime } from '../../../src/nn/runtime.js';
import { tensorName } from '../../../src/trace/manifest.js';
import { unpackMask } from '../../../src/trace/mask.js';
import { openTrace } from '../../../src/trace/reader.js';

let runtime: TfRuntime;
let root: string;
beforeAll(async () => {
  runtime = await loadTf({ prefer: 'wasm' });
  root = await mkdtemp(join(tmpdir(), 'deltasim-record-iformer-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function randomImages(count: number, seed: number): ImageSet {
  const prng = createPrng(seed);
  const pixels = Float32Array.from({ length: count * 32 * 32 }, () => (prng.next() < 0.3 ? prng.next() : 0));
  return { pixels, labels: new Int32Array(count), count, size: 32, classes: 10 };
}

/** softmax over the last axis of [rows, n]. */
function softmaxRows(values: Float32Array, n: number): Float64Array {
  const out = new Float64Array(values.length);
  for (let r = 0; r < values.length / n; r++) {
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < n; j++) max = Math.max(max, values[r * n + j]!);
    let sum = 0;
    for (let j = 0; j < n; j++) sum += Math.exp(values[r * n + j]! - max);
    for (let j = 0; j < n; j++) out[r * n + j] = Math.exp(values[r * n + j]! - max) / sum;
  }
  return out;
}

describe('recordIFormer', () => {
  it('images: every MAC op with its operands; the MACs add up to the model count; QKᵀ → softmax → AV and the logits follow from the stored tensors', async () => {
    const model = buildIFormer({ classes: 10, seed: 3, activation: 'relu' });
    const set = randomImages(5, 2);
    const out = join(root, 'images.safetensors');
    const result = await recordIFormer(runtime, model, {
      out,
      input: { kind: 'images', set, count: 2 },
      seed: 4,
      modelName: 'iformer-test',
      producer: 'deltasim test',
    });
    expect(result.steps).toBe(2);
    const trace = await openTrace(out);
    try {
      const { manifest } = trace;
      expect(manifest.model.family).toBe('iformer');
      expect(manifest.steps.map((s) => [s.sequence, s.position, s.keyFrame])).toEqual([
        [0, 0, true],
        [1, 0, true],
      ]);
      const names = manifest.layers.map((l) => l.name);
      for (const op of [
        'conv_a',
        'dw_a',
        'maxpool_b',
        'conv_b',
        'avgpool',
        'qkv',
        'scores',
        'softmax',
        'values',
        'upsample',
        'fuse',
        'proj',
        'norm2',
        'fc1',
        'fc2',
      ]) {
        expect(names).toContain(`stage1_block1_${op}`);
      }
      // Stage 3 attends over 2×2 tokens without pooling: no pool or upsample there.
      expect(names).not.toContain('stage3_block1_avgpool');
      expect(names.slice(0, 3)).toEqual(['stem1', 'stem_act', 'stem2']);
      expect(names.at(-1)).toBe('head');
      const macs = manifest.layers
        .filter((l) => isMacOp(l.op))
        .reduce((sum, l) => sum + l.gemm.m * l.gemm.n * l.gemm.k * l.gemmCount, 0);
      expect(macs).toBe(iformerMacs(IFORMER_VARIANTS.mini, 'inception', 10));
      for (const l of manifest.layers) {
        if (l.op === 'elementwise') {
          expect(l.gemmCount).toBe(0);
          expect(l.elementwiseOps).toBeGreaterThan(0);
        }
      }
      const scores = manifest.layers.find((l) => l.name === 'stage2_block1_scores')!;
      expect(scores).toMatchObject({
        op: 'attention-scores',
        inputShape: [3, 4, 8],
        operandShape: [3, 8, 4],
        gemm: { m: 4, n: 4, k: 8 },
        gemmCount: 3,
        roles: ['input', 'rhs'],
      });
      const block = iformerBlocks(model)[2]!;
      expect(Array.from(await trace.readValues(tensorName('stage2_block1_qkv', 'weight')))).toEqual(
        Array.from(block.blockWeights().mixer.qkv!.dataSync()),
      );
      // Per head: softmax(Q·Kᵀ) from the stored operands is AV's stored A operand.
      const [heads, tokens, dim] = [3, 4, 8];
      const q = await trace.readValues(tensorName('stage2_block1_scores', 'input', 1));
      const kT = await trace.readValues(tensorName('stage2_block1_scores', 'rhs', 1));
      const a = await trace.readValues(tensorName('stage2_block1_values', 'input', 1));
      const products = new Float32Array(heads * tokens * tokens);
      for (let h = 0; h < heads; h++)
        for (let m = 0; m < tokens; m++)
          for (let n = 0; n < tokens; n++) {
            let s = 0;
            for (let k = 0; k < dim; k++)
              s += q[(h * tokens + m) * dim + k]! * kT[(h * dim + k) * tokens + n]!;
            products[(h * tokens + m) * tokens + n] = s;
          }
      const expected = softmaxRows(products, tokens);
      a.forEach((v, i) => {
        expect(v).toBeCloseTo(expected[i]!, 5);
      });
      // The classifier's stored input times its weight, plus bias, is the model's output.
      const headIn = await trace.readValues(tensorName('head', 'input', 0));
      const headW = await trace.readValues(tensorName('head', 'weight'));
      const bias = model.getLayer('head').getWeights()[1]!.dataSync();
      const { tf } = runtime;
      const first = recordedImages(set.count, 2, 4)[0]!;
      const logits = tf.tidy(() =>
        (
          model.predict(
            tf.tensor4d(set.pixels.slice(first * 1024, (first + 1) * 1024), [1, 32, 32, 1]),
          ) as tfTypes.Tensor
        ).dataSync(),
      );
      for (let n = 0; n < 10; n++) {
        let y = bias[n]!;
        for (let k = 0; k < 64; k++) y += headIn[k]! * headW[k * 10 + n]!;
        expect(y).toBeCloseTo(logits[n]!, 4);
      }
      // ReLU paths give exact zeros, and the masks say so.
      const hidden = await trace.readValues(tensorName('stage1_block1_fc2', 'input', 0));
      const mask = unpackMask(
        await trace.readMask(tensorName('stage1_block1_fc2', 'input', 0)),
        hidden.length,
      );
      expect(Array.from(mask)).toEqual(Array.from(hidden).map((v) => (v !== 0 ? 1 : 0)));
      expect(mask.some((b) => b === 0)).toBe(true);
    } finally {
      await trace.close();
    }
  });

  it('clips: one step per frame, Δ of every weight layer, θ of the DAL in front, attention without Δ', async () => {
    const frames = 3;
    const model = buildIFormer({
      classes: 10,
      seed: 5,
      activation: 'relu',
      video: { frames, inputThresholdInit: 0.1, thresholdInit: 0.05, spRate: 2e-4, frameDifference: true },
    });
    const set = generateVideoClips({ seed: 2, count: 1, split: 'heldout', frames });
    const out = join(root, 'clips.safetensors');
    const result = await recordIFormer(runtime, model, {
      out,
      input: { kind: 'clips', set },
      seed: 2,
      modelName: 'iformer-video-test',
      producer: 'deltasim test',
    });
    expect(result.steps).toBe(frames);
    const trace = await openTrace(out);
    try {
      const { manifest } = trace;
      expect(manifest.steps.map((s) => s.keyFrame)).toEqual([true, false, false]);
      const macs = manifest.layers
        .filter((l) => isMacOp(l.op))
        .reduce((sum, l) => sum + l.gemm.m * l.gemm.n * l.gemm.k * l.gemmCount, 0);
      expect(macs).toBe(iformerVideoMacs(IFORMER_VARIANTS.mini, 'inception', 10));
      // The temporal head: 2×2×64 last-stage values and their change since the previous frame.
      expect(manifest.layers.find((l) => l.name === 'head')!.inputShape).toEqual([1, 512]);
      const stem1 = manifest.layers.find((l) => l.name === 'stem1')!;
      expect(stem1.inputShape).toEqual([32, 32, 2]);
      expect(stem1.roles).toEqual(['input', 'delta', 'weight']);
      expect(manifest.layers.find((l) => l.name === 'stage1_block1_values')!.roles).toEqual(['input', 'rhs']);
      const dal = iformerDeltaActivations(model).find(
        (d) => d.name === blockDalName('stage1_block1', 'hidden'),
      )!;
      const fc2 = manifest.layers.find((l) => l.name === 'stage1_block1_fc2')!;
      expect(fc2.deltaThreshold).toEqual(dal.thetaValues());
      for (const layer of ['stem1', 'stage1_block1_conv_a', 'stage2_block2_fc2']) {
        const q1 = await trace.readValues(tensorName(layer, 'input', 1));
        const q2 = await trace.readValues(tensorName(layer, 'input', 2));
        const d2 = await trace.readValues(tensorName(layer, 'delta', 2));
        expect(Array.from(d2)).toEqual(Array.from(q2).map((v, i) => Math.fround(v - q1[i]!)));
        expect(Array.from(await trace.readValues(tensorName(layer, 'delta', 0)))).toEqual(
          Array.from(await trace.readValues(tensorName(layer, 'input', 0))),
        );
      }
      // The MLP's quantised hidden activations are multiples of their channel's θ.
      const hidden = await trace.readValues(tensorName('stage1_block1_fc2', 'input', 1));
      const theta = fc2.deltaThreshold!;
      hidden.forEach((v, i) => {
        const th = theta[i % theta.length]!;
        expect(Math.abs(v / th - Math.round(v / th))).toBeLessThan(1e-3);
      });
    } finally {
      await trace.close();
    }
  });

  it('refuses images for a video model and clips for an image model', async () => {
    const model = buildIFormer({ classes: 10, seed: 1 });
    const set = generateVideoClips({ seed: 1, count: 1, split: 'heldout', frames: 2 });
    await expect(
      recordIFormer(runtime, model, {
        out: join(root, 'wrong.safetensors'),
        input: { kind: 'clips', set },
        seed: 1,
        modelName: 'x',
        producer: 'deltasim test',
      }),
    ).rejects.toThrow(/image model records images/);
  });
});
