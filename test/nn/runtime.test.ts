import type { Tensor } from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { patchWasmKernels } from '../../src/nn/kernels/register-wasm-kernels.js';
import { BackendUnavailableError, loadTf, type Tf, tfjsNodePresent } from '../../src/nn/runtime.js';
import { randomHost, relativeError, runOn } from './backend-compare.js';

describe('backend choice', () => {
  test('auto picks tfjs-node when installed, else wasm, and says why', async () => {
    const lines: string[] = [];
    const runtime = await loadTf({ verbose: (line) => lines.push(line) });
    if (await tfjsNodePresent()) {
      expect(runtime.backend).toBe('tensorflow');
    } else {
      expect(runtime.backend).toBe('wasm');
      expect(runtime.notes.join('\n')).toContain('@tensorflow/tfjs-node not installed');
      expect(runtime.notes.join('\n')).toMatch(/SIMD (on|off)/);
    }
    expect(runtime.tf.getBackend()).toBe(runtime.backend);
    expect(lines[0]).toBe(`tfjs: backend ${runtime.backend} (asked: auto)`);
    expect(lines.length).toBe(runtime.notes.length + 1);
  });

  test('repeated calls return the same runtime and patch the kernels once', async () => {
    const first = await loadTf({ prefer: 'wasm' });
    const matMulAfterFirst = first.tf.getKernel('BatchMatMul', 'wasm');
    const second = await loadTf({ prefer: 'wasm' });
    expect(second).toBe(first);
    expect(first.tf.getKernel('BatchMatMul', 'wasm')).toBe(matMulAfterFirst);
    const again = patchWasmKernels(first.tf);
    expect(first.tf.getKernel('BatchMatMul', 'wasm')).toBe(matMulAfterFirst);
    expect(again.wrapped).toEqual(['BatchMatMul', '_FusedMatMul', 'OneHot']);
  });

  test('prefer cpu switches the active backend; asking for wasm again switches back', async () => {
    const cpu = await loadTf({ prefer: 'cpu' });
    expect(cpu.backend).toBe('cpu');
    expect(cpu.tf.getBackend()).toBe('cpu');
    const wasm = await loadTf({ prefer: 'wasm' });
    expect(wasm.backend).toBe('wasm');
    expect(wasm.tf.getBackend()).toBe('wasm');
    expect(await loadTf({ prefer: 'cpu' })).toBe(cpu);
    await loadTf({ prefer: 'wasm' });
  });

  test('prefer tensorflow without tfjs-node fails with a named reason', async () => {
    if (await tfjsNodePresent()) return; // nothing to refuse on a machine that has it
    await expect(loadTf({ prefer: 'tensorflow' })).rejects.toThrow(BackendUnavailableError);
    await expect(loadTf({ prefer: 'tensorflow' })).rejects.toThrow(/tfjs-node is not installed/);
    // The failure leaves the previous backend active.
    const { tf } = await loadTf({ prefer: 'wasm' });
    expect(tf.getBackend()).toBe('wasm');
  });
});

describe('transposed matmul fast path', () => {
  let tf: Tf;
  beforeAll(async () => {
    tf = (await loadTf({ prefer: 'wasm' })).tf;
  });
  test.each([
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ])(
    'BatchMatMul transposeA=%s transposeB=%s equals cpu (batched, broadcast)',
    async (transposeA, transposeB) => {
      const a = randomHost(1, transposeA ? [3, 7, 5] : [3, 5, 7]);
      const b = randomHost(2, transposeB ? [1, 4, 7] : [1, 7, 4]);
      const build = (t: Record<string, Tensor>) =>
        tf.matMul(t.a as Tensor, t.b as Tensor, transposeA, transposeB);
      const reference = await runOn(tf, 'cpu', { a, b }, build);
      const candidate = await runOn(tf, 'wasm', { a, b }, build);
      expect(candidate.shape).toEqual([3, 5, 4]);
      expect(relativeError(candidate, reference)).toBeLessThanOrEqual(1e-6);
    },
  );

  test('_FusedMatMul with bias and relu, both operands transposed', async () => {
    const a = randomHost(3, [6, 4]);
    const b = randomHost(4, [5, 6]);
    const bias = randomHost(5, [5]);
    const build = (t: Record<string, Tensor>) =>
      tf.fused.matMul({
        a: t.a as Tensor,
        b: t.b as Tensor,
        transposeA: true,
        transposeB: true,
        bias: t.bias as Tensor,
        activation: 'relu',
      });
    const reference = await runOn(tf, 'cpu', { a, b, bias }, build);
    const candidate = await runOn(tf, 'wasm', { a, b, bias }, build);
    expect(candidate.shape).toEqual([4, 5]);
    expect(relativeError(candidate, reference)).toBeLessThanOrEqual(1e-6);
  });

  test('the wrapper frees its transposed copies', async () => {
    await tf.setBackend('wasm');
    const a = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]);
    const b = tf.tensor2d([1, 0, 0, 1, 1, 1], [2, 3]);
    tf.matMul(a, b, true, true).dispose(); // warm-up: first call may allocate backend state
    const before = tf.memory().numBytes;
    const dataIdsBefore = tf.engine().backend.numDataIds();
    tf.matMul(a, b, true, true).dispose();
    expect(tf.memory().numBytes).toBe(before);
    expect(tf.engine().backend.numDataIds()).toBe(dataIdsBefore);
    a.dispose();
    b.dispose();
  });
});

describe('training on wasm', () => {
  test('a small conv net (conv2d, depthwise, pooling, layer norm, embedding, dense) lowers its loss without leaking', async () => {
    const { tf } = await loadTf({ prefer: 'wasm' });
    const init = (seed: number) => tf.initializers.glorotUniform({ seed });
    const image = tf.input({ shape: [12, 12, 1] });
    let h = tf.layers
      .conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(1) })
      .apply(image) as ReturnType<typeof tf.input>;
    h = tf.layers
      .depthwiseConv2d({
        kernelSize: 3,
        depthMultiplier: 2,
        padding: 'same',
        activation: 'relu',
        depthwiseInitializer: init(2),
      })
      .apply(h) as typeof h;
    h = tf.layers.maxPooling2d({ poolSize: 2 }).apply(h) as typeof h;
    h = tf.layers
      .conv2d({ filters: 4, kernelSize: 3, strides: 2, activation: 'relu', kernelInitializer: init(3) })
      .apply(h) as typeof h;
    h = tf.layers.averagePooling2d({ poolSize: 2 }).apply(h) as typeof h;
    h = tf.layers.flatten().apply(h) as typeof h;
    h = tf.layers.layerNormalization().apply(h) as typeof h;
    const tokens = tf.input({ shape: [3] });
    let e = tf.layers
      .embedding({ inputDim: 8, outputDim: 2, embeddingsInitializer: init(4) })
      .apply(tokens) as typeof h;
    e = tf.layers.flatten().apply(e) as typeof h;
    const joined = tf.layers.concatenate().apply([h, e]) as typeof h;
    const out = tf.layers
      .dense({ units: 3, activation: 'softmax', kernelInitializer: init(5) })
      .apply(joined) as typeof h;
    const model = tf.model({ inputs: [image, tokens], outputs: out });
    model.compile({ optimizer: tf.train.adam(0.02), loss: 'categoricalCrossentropy' });

    const xs = tf.tensor(randomHost(6, [16, 12, 12, 1]).values, [16, 12, 12, 1]);
    const ids = tf.tensor(
      Int32Array.from({ length: 48 }, (_, i) => (i * 5) % 8),
      [16, 3],
      'int32',
    );
    const ys = tf.cast(
      tf.oneHot(
        tf.tensor1d(
          Int32Array.from({ length: 16 }, (_, i) => i % 3),
          'int32',
        ),
        3,
      ),
      'float32',
    );
    const losses: number[] = [];
    const tensorsAfter: number[] = [];
    for (let step = 0; step < 8; step++) {
      losses.push((await model.trainOnBatch([xs, ids], ys)) as number);
      tensorsAfter.push(tf.memory().numTensors);
    }
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[losses.length - 1]).toBeLessThan((losses[0] ?? 0) * 0.9);
    expect(tensorsAfter[tensorsAfter.length - 1]).toBe(tensorsAfter[1]);
    tf.dispose([xs, ids, ys]);
    model.dispose();
  });
});
