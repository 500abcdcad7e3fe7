import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LayersModel, Tensor, Variable } from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateMqar } from '../../../src/nn/data/mqar.js';
import { sequenceAccuracy, tokenTensor } from '../../../src/nn/eval/sequence-accuracy.js';
import type { MixerOperands } from '../../../src/nn/layers/deltanet-layers.js';
import { loadModel, saveModel } from '../../../src/nn/model-io.js';
import {
  buildDeltaNet,
  type DeltaNetOptions,
  deltaNetMixers,
  positionLogits,
  scoredPositions,
  setMixerForm,
} from '../../../src/nn/models/deltanet.js';
import { loadTf, type TfRuntime } from '../../../src/nn/runtime.js';
import { readCheckpoint } from '../../../src/nn/train/checkpoint.js';
import { expNonPositive, maskedCrossEntropy, trainDeltaNet } from '../../../src/nn/train/train-deltanet.js';

let runtime: TfRuntime;
let root: string;
beforeAll(async () => {
  runtime = await loadTf({ prefer: 'wasm' });
  root = await mkdtemp(join(tmpdir(), 'deltasim-deltanet-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const small: DeltaNetOptions = {
  vocab: 32,
  dModel: 16,
  layers: 2,
  heads: 2,
  mixer: 'delta',
  seed: 3,
  chunk: 8,
};
const batch = generateMqar({ vocab: 32, seqLen: 20, pairs: 3, count: 3, seed: 4 });

function logits(model: LayersModel): Float32Array {
  const { tf } = runtime;
  return tf.tidy(
    () => (model.predict(tokenTensor(tf, batch, 0, batch.count)) as Tensor).dataSync() as Float32Array,
  );
}

function maxRelative(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

function capture(model: LayersModel): MixerOperands[] {
  const captured: MixerOperands[] = [];
  for (const m of deltaNetMixers(model)) m.captureOperands = (o) => captured.push(o);
  logits(model);
  for (const m of deltaNetMixers(model)) m.captureOperands = undefined;
  return captured;
}

async function saveAndLoad(model: LayersModel, name: string) {
  const dir = join(root, name);
  await saveModel(runtime, model, dir, {
    name,
    family: 'deltanet',
    variant: 'delta',
    seed: 3,
    epochs: 0,
    backend: runtime.backend,
    data: {},
    metrics: {},
    createdBy: 'test',
    command: 'test',
  });
  return loadModel(runtime, dir);
}

describe('DeltaNet model', () => {
  it.each(['delta', 'linear'] as const)(
    '%s: chunkwise and token-by-token forms give the same logits',
    (mixer) => {
      const model = buildDeltaNet({ ...small, mixer, mlp: true });
      const chunked = logits(model);
      setMixerForm(model, 'recurrent');
      const recurrent = logits(model);
      expect(chunked).toHaveLength(3 * 20 * 32);
      expect(maxRelative(chunked, recurrent)).toBeLessThan(1e-5);
    },
  );

  it('expNonPositive is e^x to 1e-7 relative on x ≤ 0, and 0 below the smallest double', () => {
    let worst = 0;
    for (let i = 0; i <= 20_000; i++) {
      const x = -((i / 20_000) ** 2) * 740;
      worst = Math.max(worst, Math.abs(expNonPositive(x) - Math.exp(x)) / Math.exp(x));
    }
    expect(worst).toBeLessThan(1e-7);
    expect(expNonPositive(0)).toBe(1);
    expect(expNonPositive(-800)).toBe(0);
    expect(expNonPositive(Number.NEGATIVE_INFINITY)).toBe(0);
  });

  it('the fused cross-entropy equals logSoftmax + one-hot + masked mean, value and gradient', () => {
    const { tf } = runtime;
    const [rows, vocab] = [7, 300];
    let s = 11;
    const raw = Float32Array.from({ length: rows * vocab }, () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return (s / 2 ** 32 - 0.5) * 16;
    });
    // Rows 2 and 5 ignored; the others have labels at the edges and inside.
    const labels = Int32Array.from([0, 299, -100, 17, 150, -100, 3]);
    const reference = (x: Tensor): Tensor => {
      const mask = Float32Array.from(labels, (l) => (l === -100 ? 0 : 1));
      const target = tf.cast(
        tf.oneHot(
          tf.tensor1d(
            Int32Array.from(labels, (l) => Math.max(l, 0)),
            'int32',
          ),
          vocab,
        ),
        'float32',
      );
      const nll = tf.neg(tf.sum(tf.mul(target, tf.logSoftmax(x)), 1));
      return tf.div(tf.sum(tf.mul(nll, tf.tensor1d(mask))), 5);
    };
    const x = tf.tensor2d(raw, [rows, vocab]);
    const fused = tf.valueAndGrad((t: Tensor) => maskedCrossEntropy(tf, t, labels))(x);
    const plain = tf.valueAndGrad(reference)(x);
    expect(fused.value.dataSync()[0]!).toBeCloseTo(plain.value.dataSync()[0]!, 5);
    const grad = fused.grad.dataSync() as Float32Array;
    expect(maxRelative(grad, plain.grad.dataSync() as Float32Array)).toBeLessThan(1e-5);
    // Ignored rows get no gradient; a scored row's gradient sums to zero (softmax − one-hot).
    expect(grad.subarray(2 * vocab, 3 * vocab).every((g) => g === 0)).toBe(true);
    expect(Math.abs(grad.subarray(0, vocab).reduce((a, b) => a + b, 0))).toBeLessThan(1e-6);
    expect(() => maskedCrossEntropy(tf, x, labels.subarray(1))).toThrow(/6 labels for 7 rows/);
    tf.dispose([x, fused.value, fused.grad, plain.value, plain.grad]);
  });

  it('the LM head and loss at the scored positions only equal the full-logit masked loss, with its gradients', () => {
    const { tf } = runtime;
    const model = buildDeltaNet({ ...small, vocab: 32 });
    const positions = scoredPositions(batch.labels);
    expect(positions.length).toBe(3 * 3);
    const full = logits(model);
    const picked = tf.tidy(
      () =>
        positionLogits(model, tokenTensor(tf, batch, 0, batch.count), positions).dataSync() as Float32Array,
    );
    // Row i of the gathered logits is the full logits' row at flat position positions[i].
    const fullRows = new Float32Array(picked.length);
    for (const [i, at] of positions.entries()) fullRows.set(full.subarray(at * 32, (at + 1) * 32), i * 32);
    expect(maxRelative(picked, fullRows)).toBeLessThan(1e-6);

    const x = tokenTensor(tf, batch, 0, batch.count);
    const weights = model.trainableWeights.map((w) => w.read() as Variable);
    const fullLoss = tf.variableGrads(
      () => maskedCrossEntropy(tf, model.apply(x, { training: true }) as Tensor, batch.labels),
      weights,
    );
    const compactLabels = positions.map((at) => batch.labels[at]!);
    const queryLoss = tf.variableGrads(
      () => maskedCrossEntropy(tf, positionLogits(model, x, positions, true), compactLabels),
      weights,
    );
    expect(Math.abs(queryLoss.value.dataSync()[0]! - fullLoss.value.dataSync()[0]!)).toBeLessThan(1e-5);
    for (const w of weights) {
      const a = queryLoss.grads[w.name]!.dataSync() as Float32Array;
      const b = fullLoss.grads[w.name]!.dataSync() as Float32Array;
      expect(maxRelative(a, b), w.name).toBeLessThan(1e-4);
    }
    tf.dispose([
      x,
      fullLoss.value,
      queryLoss.value,
      ...Object.values(fullLoss.grads),
      ...Object.values(queryLoss.grads),
    ]);

    // The scored-position accuracy is the argmax of the full logits at those positions.
    let correct = 0;
    for (const at of positions) {
      const row = Array.from(full.subarray(at * 32, (at + 1) * 32));
      if (row.indexOf(Math.max(...row)) === batch.labels[at]) correct += 1;
    }
    const score = sequenceAccuracy(tf, model, batch, 2);
    expect(score.scored).toBe(positions.length);
    expect(score.correct).toBe(correct);
  });

  it('saves and loads (custom layers registered) with identical predictions', async () => {
    const model = buildDeltaNet({ ...small, mlp: true, allowNegEigval: true });
    const loaded = await saveAndLoad(model, 'saved');
    expect(Array.from(logits(loaded.model))).toEqual(Array.from(logits(model)));
    const mixer = deltaNetMixers(loaded.model)[0]!;
    expect(mixer.allowNegEigval).toBe(true);
    expect(mixer.chunk).toBe(8);
  });

  it('options: ReLU gives exact zeros in q and k, SiLU none; fixed β is 1; neg-eigval β spans (0, 2)', () => {
    const zerosIn = (o: MixerOperands) =>
      [o.q, o.k].flatMap((t) => Array.from(t.dataSync())).filter((v) => v === 0).length;
    const relu = capture(buildDeltaNet({ ...small, featureMap: 'relu' }));
    const silu = capture(buildDeltaNet(small));
    expect(zerosIn(relu[0]!)).toBeGreaterThan(100);
    expect(zerosIn(silu[0]!)).toBe(0);
    const fixed = capture(buildDeltaNet({ ...small, useBeta: false }));
    expect(new Set(fixed[0]!.beta.dataSync())).toEqual(new Set([1]));
    const wide = capture(buildDeltaNet({ ...small, allowNegEigval: true }))[0]!.beta.dataSync();
    expect(Math.max(...wide)).toBeLessThan(2);
    expect(Math.min(...wide)).toBeGreaterThan(0);
    const narrow = capture(buildDeltaNet(small))[0]!.beta.dataSync();
    expect(Math.max(...narrow)).toBeLessThan(1);
    expect(Math.max(...wide)).toBeGreaterThan(Math.max(...narrow));
    // q and k rows are L2-normalised (per head: [B·H, T, d_k]).
    const k = silu[1]!.k;
    expect(k.shape).toEqual([3 * 2, 20, 8]);
    const values = k.dataSync();
    const norms = Array.from({ length: values.length / 8 }, (_, r) =>
      Math.hypot(...values.subarray(8 * r, 8 * r + 8)),
    );
    for (const n of norms) expect(n).toBeCloseTo(1, 4);
    for (const o of [...relu, ...silu, ...fixed]) runtime.tf.dispose(Object.values(o));
  });

  it('betaBias: β = sigmoid(W_β x + b) per head, b trainable (gradient reaches it), saved and loaded', async () => {
    const { tf } = runtime;
    const logit = (p: number) => Math.log(p / (1 - p));
    const plain = capture(buildDeltaNet(small));
    const model = buildDeltaNet({ ...small, betaBias: -3 });
    const mixer = deltaNetMixers(model)[0]!;
    const bias = mixer.weights.find((w) => w.originalName.endsWith('/b_beta'))!;
    expect(Array.from(bias.read().dataSync())).toEqual([-3, -3]);
    // Per-head values, so a bias applied to the wrong head (or not at all) shows.
    const perHead = [-3, 1.5];
    bias.write(tf.tensor1d(perHead));
    const biased = capture(model);
    // Same seed: W_β is the same draw, so the logits differ by exactly b (heads folded into the batch).
    const [b0, b1] = [plain[0]!.beta.dataSync(), biased[0]!.beta.dataSync()];
    const t = 20;
    for (let row = 0; row < b0.length / t; row++) {
      for (let pos = 0; pos < t; pos++) {
        const i = row * t + pos;
        expect(logit(b1[i]!) - logit(b0[i]!)).toBeCloseTo(perHead[row % 2]!, 3);
      }
    }
    const x = tokenTensor(tf, batch, 0, batch.count);
    const biasVariable = bias.read() as Variable;
    const { value, grads } = tf.variableGrads(
      () => maskedCrossEntropy(tf, model.apply(x, { training: true }) as Tensor, batch.labels),
      [biasVariable],
    );
    const g = grads[biasVariable.name]!.dataSync();
    expect(g).toHaveLength(2);
    expect(Math.min(...Array.from(g, Math.abs))).toBeGreaterThan(0);
    // Linear attention has no gate: no bias weight either.
    const linear = deltaNetMixers(buildDeltaNet({ ...small, mixer: 'linear', betaBias: -3 }))[0]!;
    expect(linear.weights.some((w) => w.originalName.endsWith('/b_beta'))).toBe(false);

    const loaded = await saveAndLoad(model, 'saved-bias');
    expect(Array.from(logits(loaded.model))).toEqual(Array.from(logits(model)));
    const loadedBias = deltaNetMixers(loaded.model)[0]!.weights.find((w) =>
      w.originalName.endsWith('/b_beta'),
    )!;
    expect(Array.from(loadedBias.read().dataSync())).toEqual(perHead);
    tf.dispose([
      x,
      value,
      ...Object.values(grads),
      ...[...plain, ...biased].flatMap((o) => Object.values(o)),
    ]);
  });

  it('tiedHeadInit starts the LM head as the transposed embedding; by default it is drawn on its own', () => {
    const { tf } = runtime;
    const headAndEmbeddingT = (model: LayersModel) =>
      tf.tidy(() => {
        const embedding = model.getLayer('embedding').getWeights()[0]!;
        return [
          model.getLayer('lm_head').getWeights()[0]!.dataSync() as Float32Array,
          tf.transpose(embedding).dataSync() as Float32Array,
        ];
      });
    const [tiedHead, embeddingT] = headAndEmbeddingT(buildDeltaNet({ ...small, tiedHeadInit: true }));
    expect(Array.from(tiedHead!)).toEqual(Array.from(embeddingT!));
    const [ownHead, sameEmbeddingT] = headAndEmbeddingT(buildDeltaNet(small));
    expect(Array.from(sameEmbeddingT!)).toEqual(Array.from(embeddingT!));
    expect(maxRelative(ownHead!, embeddingT!)).toBeGreaterThan(0.5);
  });

  it('a few training steps lower the loss; resuming from a round-end or a mid-round checkpoint gives the same weights', async () => {
    const options = {
      task: { task: 'mqar' as const, seqLen: 16, vocab: 32, pairs: 2 },
      model: { dModel: 16, layers: 1, heads: 2, mixer: 'delta' as const, chunk: 8 },
      seed: 5,
      stepsPerRound: 6,
      batchSize: 8,
      learningRate: 1e-2,
      warmupSteps: 2,
      validationCount: 8,
    };
    const straight = await trainDeltaNet(runtime, { ...options, steps: 12 });
    expect(straight.history).toHaveLength(2);
    expect(straight.history[1]!.loss).toBeLessThan(straight.history[0]!.loss);
    const dir = join(root, 'ckpt');
    await trainDeltaNet(runtime, { ...options, steps: 6, checkpointDir: dir });
    expect((await readCheckpoint(dir)).epochsDone).toBe(1);
    const resumed = await trainDeltaNet(runtime, { ...options, steps: 12, checkpointDir: dir, resume: true });
    const flat = (m: LayersModel) => m.getWeights().flatMap((w) => Array.from(w.dataSync()));
    expect(flat(resumed.model)).toEqual(flat(straight.model));
    expect(resumed.history.map((h) => h.loss)).toEqual(straight.history.map((h) => h.loss));

    // A stop request inside the second round: a checkpoint at that step, and the resumed run
    // continues mid-round with the round's running sums (its record equals the straight run's).
    const midDir = join(root, 'ckpt-mid');
    let asked = 0;
    const stopped = await trainDeltaNet(runtime, {
      ...options,
      steps: 12,
      checkpointDir: midDir,
      shouldStop: () => ++asked === 8,
    });
    expect(stopped.stoppedAt).toBe(9);
    const saved = await readCheckpoint(midDir);
    expect(saved.epochsDone).toBe(1);
    expect(saved.progress?.step).toBe(3);
    const continued = await trainDeltaNet(runtime, {
      ...options,
      steps: 12,
      checkpointDir: midDir,
      resume: true,
    });
    expect(flat(continued.model)).toEqual(flat(straight.model));
    expect(continued.history.map((h) => [h.loss, h.trainAccuracy])).toEqual(
      straight.history.map((h) => [h.loss, h.trainAccuracy]),
    );
  });
});
