import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadModel, type ModelCard, ModelError, saveModel } from '../../src/nn/model-io.js';
import { loadTf, type TfRuntime } from '../../src/nn/runtime.js';
import { randomHost } from './backend-compare.js';

let runtime: TfRuntime;
let root: string;

const CARD: ModelCard = {
  name: 'tiny',
  family: 'test-cnn',
  variant: 'dense',
  seed: 7,
  epochs: 1,
  backend: 'wasm',
  data: { clips: 4, frames: 8 },
  metrics: { accuracy: 0.5 },
  createdBy: 'deltasim test',
  command: 'vitest',
};

beforeAll(async () => {
  runtime = await loadTf({ prefer: 'wasm' });
  root = await mkdtemp(join(tmpdir(), 'deltasim-model-io-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function tinyModel(seedOffset: number): LayersModel {
  const { tf } = runtime;
  const init = (seed: number) => tf.initializers.glorotUniform({ seed: seed + seedOffset });
  const model = tf.sequential();
  model.add(
    tf.layers.conv2d({
      inputShape: [6, 6, 1],
      filters: 3,
      kernelSize: 3,
      activation: 'relu',
      kernelInitializer: init(1),
      biasInitializer: 'ones',
    }),
  );
  model.add(tf.layers.depthwiseConv2d({ kernelSize: 2, depthwiseInitializer: init(2) }));
  model.add(tf.layers.flatten());
  model.add(tf.layers.dense({ units: 4, activation: 'softmax', kernelInitializer: init(3) }));
  return model;
}

async function predict(model: LayersModel): Promise<Float32Array> {
  const { tf } = runtime;
  const x = tf.tensor(randomHost(9, [2, 6, 6, 1]).values, [2, 6, 6, 1]);
  const y = model.predict(x) as Tensor;
  const values = (await y.data()) as Float32Array;
  tf.dispose([x, y]);
  return values;
}

async function savedCopy(name: string): Promise<string> {
  const dir = join(root, name);
  await saveModel(runtime, tinyModel(0), dir, CARD);
  return dir;
}

describe('save → load round trip', () => {
  test('writes model.json, weights.bin and card.json and reproduces predictions exactly', async () => {
    const model = tinyModel(0);
    const dir = join(root, 'round-trip');
    await saveModel(runtime, model, dir, CARD);
    expect((await readdir(dir)).sort()).toEqual(['card.json', 'model.json', 'weights.bin']);
    const manifest = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as {
      weightsManifest: { paths: string[] }[];
    };
    expect(manifest.weightsManifest[0]?.paths).toEqual(['./weights.bin']);
    const loaded = await loadModel(runtime, dir);
    expect(loaded.card).toEqual(CARD);
    expect(Array.from(await predict(loaded.model))).toEqual(Array.from(await predict(model)));
  });

  test('overwriting an existing model replaces it whole and leaves no temporary files', async () => {
    const dir = join(root, 'overwrite');
    await saveModel(runtime, tinyModel(0), dir, CARD);
    const second = tinyModel(100);
    await saveModel(runtime, second, dir, { ...CARD, seed: 8 });
    const loaded = await loadModel(runtime, dir);
    expect(loaded.card.seed).toBe(8);
    expect(Array.from(await predict(loaded.model))).toEqual(Array.from(await predict(second)));
    expect((await readdir(root)).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  test('a custom layer class registered by its module loads back', async () => {
    const { tf } = runtime;
    class TimesTwo extends tf.layers.Layer {
      static readonly className = 'DeltasimTestTimesTwo';
      override call(inputs: Tensor | Tensor[]): Tensor {
        return tf.mul(Array.isArray(inputs) ? (inputs[0] as Tensor) : inputs, 2);
      }
    }
    tf.serialization.registerClass(TimesTwo);
    const model = tinyModel(0) as ReturnType<typeof tf.sequential>;
    model.add(new TimesTwo({}));
    const dir = join(root, 'custom');
    await saveModel(runtime, model, dir, CARD);
    const loaded = await loadModel(runtime, dir);
    expect(Array.from(await predict(loaded.model))).toEqual(Array.from(await predict(model)));
  });
});

describe('missing or corrupt files → ModelError naming file and field', () => {
  test('missing model directory', async () => {
    const dir = join(root, 'does-not-exist');
    await expect(loadModel(runtime, dir)).rejects.toThrow(ModelError);
    await expect(loadModel(runtime, dir)).rejects.toThrow(/card\.json: is missing/);
  });

  test('missing weights.bin', async () => {
    const dir = await savedCopy('no-weights');
    await rm(join(dir, 'weights.bin'));
    await expect(loadModel(runtime, dir)).rejects.toThrow(/weights\.bin: is missing/);
  });

  test('truncated weights.bin', async () => {
    const dir = await savedCopy('short-weights');
    await truncate(join(dir, 'weights.bin'), 10);
    await expect(loadModel(runtime, dir)).rejects.toThrow(/weights\.bin: length: has 10 bytes/);
  });

  test('model.json that is not JSON', async () => {
    const dir = await savedCopy('bad-json');
    await writeFile(join(dir, 'model.json'), '{"modelTopology": ');
    await expect(loadModel(runtime, dir)).rejects.toThrow(/model\.json: is not valid JSON/);
  });

  test('model.json without a weights manifest', async () => {
    const dir = await savedCopy('no-manifest');
    await writeFile(join(dir, 'model.json'), JSON.stringify({ modelTopology: {} }));
    await expect(loadModel(runtime, dir)).rejects.toThrow(
      /model\.json: field "weightsManifest": must be an array/,
    );
  });

  test('model.json whose topology cannot be built', async () => {
    const dir = await savedCopy('bad-topology');
    const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(
      join(dir, 'model.json'),
      JSON.stringify({ ...json, modelTopology: { class_name: 'NoSuchModel', config: {} } }),
    );
    await expect(loadModel(runtime, dir)).rejects.toThrow(/model\.json: modelTopology: cannot be built/);
  });

  test.each([
    ['seed', -1, /field "seed": must be a non-negative integer/],
    ['name', 3, /field "name": must be a string/],
    ['metrics', { accuracy: 'high' }, /field "metrics\.accuracy": must be a finite number/],
    ['data', null, /field "data": must be an object/],
  ])('card.json with a bad %s', async (field, value, message) => {
    const dir = await savedCopy(`bad-card-${field}`);
    await writeFile(join(dir, 'card.json'), JSON.stringify({ ...CARD, [field]: value }));
    const failure = loadModel(runtime, dir);
    await expect(failure).rejects.toThrow(ModelError);
    await expect(loadModel(runtime, dir)).rejects.toThrow(message);
  });

  test('saving with an invalid card writes nothing', async () => {
    const dir = join(root, 'never-written');
    await expect(saveModel(runtime, tinyModel(0), dir, { ...CARD, epochs: 1.5 })).rejects.toThrow(ModelError);
    await expect(readdir(dir)).rejects.toThrow();
  });
});
