/**
 * TensorFlow.js backends on this machine: one training step of a small conv net on wasm vs cpu
 * (same run, same model, same batch), training samples/s, and wasm's transposed BatchMatMul before
 * and after the runtime's explicit-transpose wrapper.
 */
import type { KernelConfig, LayersModel, Tensor } from '@tensorflow/tfjs';
import { createPrng } from '../../src/common/prng.js';
import { patchWasmKernels } from '../../src/nn/kernels/register-wasm-kernels.js';
import { loadTf, type Tf } from '../../src/nn/runtime.js';
import { type Measurement, measure, printTable } from './harness.js';

const BATCH = 8;

function convNet(tf: Tf): LayersModel {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  const model = tf.sequential();
  model.add(
    tf.layers.conv2d({
      inputShape: [32, 32, 1],
      filters: 8,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: init(1),
    }),
  );
  model.add(
    tf.layers.conv2d({
      filters: 16,
      kernelSize: 3,
      strides: 2,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: init(2),
    }),
  );
  model.add(
    tf.layers.depthwiseConv2d({
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      depthwiseInitializer: init(3),
    }),
  );
  model.add(
    tf.layers.conv2d({
      filters: 16,
      kernelSize: 3,
      strides: 2,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: init(4),
    }),
  );
  model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  model.add(tf.layers.flatten());
  model.add(tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: init(5) }));
  model.compile({ optimizer: tf.train.sgd(0.01), loss: 'categoricalCrossentropy' });
  return model;
}

function batch(tf: Tf): { xs: Tensor; ys: Tensor } {
  const prng = createPrng(42);
  const xs = tf.tensor4d(
    Float32Array.from({ length: BATCH * 32 * 32 }, () => prng.next()),
    [BATCH, 32, 32, 1],
  );
  const labels = Int32Array.from({ length: BATCH }, () => prng.int(10));
  const ys = tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), 10), 'float32');
  return { xs, ys };
}

async function trainStep(tf: Tf, backend: 'wasm' | 'cpu', iterations: number): Promise<Measurement> {
  await loadTf({ prefer: backend });
  const model = convNet(tf);
  const { xs, ys } = batch(tf);
  const m = await measure(
    `conv net train step [${BATCH},32,32,1], ${backend}`,
    () => model.trainOnBatch(xs, ys),
    {
      iterations,
      warmup: 1,
      unitsPerRun: BATCH,
      unit: 'samples',
    },
  );
  tf.dispose([xs, ys]);
  model.dispose();
  return m;
}

function withKernel(tf: Tf, config: KernelConfig): () => void {
  const current = tf.getKernel(config.kernelName, 'wasm');
  tf.unregisterKernel(config.kernelName, 'wasm');
  tf.registerKernel(config);
  return () => {
    tf.unregisterKernel(config.kernelName, 'wasm');
    tf.registerKernel(current);
  };
}

async function transposedMatMul(tf: Tf): Promise<Measurement[]> {
  await loadTf({ prefer: 'wasm' });
  const original = patchWasmKernels(tf).originals.get('BatchMatMul');
  if (!original) throw new Error('BatchMatMul was not wrapped');
  const prng = createPrng(7);
  const size = 256;
  const a = tf.tensor2d(
    Float32Array.from({ length: size * size }, () => prng.normal()),
    [size, size],
  );
  const b = tf.tensor2d(
    Float32Array.from({ length: size * size }, () => prng.normal()),
    [size, size],
  );
  const run = (ta: boolean, tb: boolean) => () => tf.tidy(() => tf.matMul(a, b, ta, tb).dataSync());
  const rows: Measurement[] = [];
  const macs = size ** 3;
  rows.push(
    await measure(`matMul 256³ plain (reference)`, run(false, false), {
      iterations: 15,
      unitsPerRun: macs,
      unit: 'MAC',
    }),
  );
  for (const [ta, tb, label] of [
    [true, false, 'Aᵀ·B'],
    [false, true, 'A·Bᵀ'],
  ] as const) {
    const restore = withKernel(tf, original);
    rows.push(
      await measure(`matMul 256³ ${label}, wasm original`, run(ta, tb), {
        iterations: 15,
        unitsPerRun: macs,
        unit: 'MAC',
      }),
    );
    restore();
    rows.push(
      await measure(`matMul 256³ ${label}, explicit transpose`, run(ta, tb), {
        iterations: 15,
        unitsPerRun: macs,
        unit: 'MAC',
      }),
    );
  }
  // What autodiff pays: an MLP training step (its gradients use the transposed products).
  const mlp = tf.sequential();
  mlp.add(
    tf.layers.dense({
      inputShape: [512],
      units: 512,
      activation: 'relu',
      kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
    }),
  );
  mlp.add(
    tf.layers.dense({
      units: 512,
      activation: 'relu',
      kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
    }),
  );
  mlp.add(tf.layers.dense({ units: 10, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }));
  mlp.compile({ optimizer: tf.train.sgd(0.01), loss: 'meanSquaredError' });
  const xs = tf.tensor2d(
    Float32Array.from({ length: 64 * 512 }, () => prng.normal()),
    [64, 512],
  );
  const ys = tf.tensor2d(
    Float32Array.from({ length: 64 * 10 }, () => prng.normal()),
    [64, 10],
  );
  const restoreAll = [withKernel(tf, original)];
  const fused = patchWasmKernels(tf).originals.get('_FusedMatMul');
  if (fused) restoreAll.push(withKernel(tf, fused));
  rows.push(
    await measure('MLP 512-512-10 train step (64), wasm original', () => mlp.trainOnBatch(xs, ys), {
      iterations: 9,
      unitsPerRun: 64,
      unit: 'samples',
    }),
  );
  for (const restore of restoreAll.reverse()) restore();
  rows.push(
    await measure('MLP 512-512-10 train step (64), explicit transpose', () => mlp.trainOnBatch(xs, ys), {
      iterations: 9,
      unitsPerRun: 64,
      unit: 'samples',
    }),
  );
  tf.dispose([a, b, xs, ys]);
  mlp.dispose();
  return rows;
}

export default async function (): Promise<void> {
  const { tf } = await loadTf({ prefer: 'wasm' });
  const wasmStep = await trainStep(tf, 'wasm', 9);
  const cpuStep = await trainStep(tf, 'cpu', 3);
  printTable(
    'tfjs: one training step, wasm vs cpu (same run)',
    [wasmStep, cpuStep],
    [`cpu / wasm median ratio: ${(cpuStep.medianMs / wasmStep.medianMs).toFixed(1)}x`],
  );
  const rows = await transposedMatMul(tf);
  const ratio = (slow: number, fast: number) =>
    `${((rows[slow]?.medianMs ?? 0) / (rows[fast]?.medianMs ?? 1)).toFixed(1)}x`;
  printTable('tfjs wasm: transposed BatchMatMul, original kernel vs explicit transpose', rows, [
    `Aᵀ·B speed-up ${ratio(1, 2)}, A·Bᵀ speed-up ${ratio(3, 4)}, MLP train step speed-up ${ratio(5, 6)}`,
  ]);
}
