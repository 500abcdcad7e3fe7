import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrng } from '../../../src/common/prng.js';
import { generateShapeTextures } from '../../../src/nn/data/shape-textures.js';
import { loadTf, type TfRuntime } from '../../../src/nn/runtime.js';
import { readCheckpoint } from '../../../src/nn/train/checkpoint.js';
import { imageBatch, learningRateAt, trainIFormer } from '../../../src/nn/train/train-iformer.js';

let runtime: TfRuntime;
let root: string;
beforeAll(async () => {
  runtime = await loadTf({ prefer: 'wasm' });
  root = await mkdtemp(join(tmpdir(), 'deltasim-train-iformer-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

// One batch of 18 shapes images per epoch.
const tiny = {
  data: 'shapes',
  mixer: 'inception',
  activation: 'relu',
  seed: 3,
  trainExamples: 18,
  batchSize: 18,
  validationExamples: 9,
} as const;

function weightsOf(model: import('@tensorflow/tfjs').LayersModel): number[] {
  return model.getWeights().flatMap((w) => Array.from(w.dataSync()));
}

describe('trainIFormer', { timeout: 240_000 }, () => {
  it('a few steps lower the training loss', async () => {
    const { history } = await trainIFormer(runtime, { ...tiny, epochs: 5, learningRate: 3e-3 });
    expect(history).toHaveLength(5);
    expect(history[4]!.loss).toBeLessThan(history[0]!.loss);
  });

  it('resumes from its checkpoint to exactly the weights of an uninterrupted run', async () => {
    const dir = join(root, 'resume');
    const straight = await trainIFormer(runtime, { ...tiny, epochs: 2 });
    const first = await trainIFormer(runtime, { ...tiny, epochs: 1, checkpointDir: dir });
    expect(first.history).toHaveLength(1);
    expect((await readCheckpoint(dir)).epochsDone).toBe(1);
    const resumed = await trainIFormer(runtime, { ...tiny, epochs: 2, checkpointDir: dir, resume: true });
    expect(weightsOf(resumed.model)).toEqual(weightsOf(straight.model));
  });
});

describe('schedule and batches', () => {
  it('warms up linearly, then decays by a cosine to 5 % of the peak', () => {
    expect(learningRateAt(1, 0, 10, 100)).toBeCloseTo(0.1);
    expect(learningRateAt(1, 9, 10, 100)).toBeCloseTo(1);
    expect(learningRateAt(1, 55, 10, 100)).toBeCloseTo(0.525);
    expect(learningRateAt(1, 100, 10, 100)).toBeCloseTo(0.05);
  });

  it('shifts images by whole pixels with zero fill, labels one-hot', () => {
    const { tf } = runtime;
    const set = generateShapeTextures({ seed: 1, count: 4 });
    const plain = imageBatch(tf, set, [0, 1, 2, 3]);
    const shifted = imageBatch(tf, set, [0, 1, 2, 3], { max: 2, prng: createPrng(9) });
    const dx = createPrng(9);
    const offsets = [0, 1, 2, 3].map(() => [dx.int(5) - 2, dx.int(5) - 2] as const);
    const a = plain.x.dataSync();
    const b = shifted.x.dataSync();
    offsets.forEach(([ox, oy], i) => {
      for (let y = 0; y < 32; y++)
        for (let x = 0; x < 32; x++) {
          const sy = y - oy;
          const sx = x - ox;
          const expected = sy >= 0 && sy < 32 && sx >= 0 && sx < 32 ? a[i * 1024 + sy * 32 + sx] : 0;
          expect(b[i * 1024 + y * 32 + x]).toBe(expected);
        }
    });
    expect(Array.from(plain.y.argMax(1).dataSync())).toEqual(Array.from(set.labels.subarray(0, 4)));
    tf.dispose([plain.x, plain.y, shifted.x, shifted.y]);
  });
});
