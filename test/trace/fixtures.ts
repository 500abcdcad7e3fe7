/**
 * Deterministic example traces for tests, docs and benchmarks: a small conv → depthwise → dense →
 * attention-scores network whose activations are sparse (ReLU-like zeros) and whose deltas are
 * sparser still, all drawn from a seeded PRNG. Same seed, same bytes.
 */
import { createPrng, type Prng } from '../../src/common/prng.js';
import type { TensorRole, TraceLayer, TraceManifest, TraceStep } from '../../src/trace/manifest.js';
import { tensorName } from '../../src/trace/manifest.js';
import { createTraceWriter, type TraceWriterOptions, type ValueDtype } from '../../src/trace/writer.js';

export const TINY_LAYERS: readonly TraceLayer[] = [
  {
    name: 'conv1',
    op: 'conv2d',
    inputShape: [6, 6, 2],
    outputShape: [6, 6, 4],
    operandShape: [3, 3, 2, 4],
    kernel: [3, 3],
    stride: [1, 1],
    padding: [1, 1, 1, 1],
    dilation: [1, 1],
    gemm: { m: 36, n: 4, k: 18 },
    gemmCount: 1,
    roles: ['input', 'delta', 'weight'],
    deltaThreshold: [0.05, 0.05],
  },
  {
    name: 'dw2',
    op: 'depthwise',
    inputShape: [6, 6, 4],
    outputShape: [3, 3, 4],
    operandShape: [3, 3, 4, 1],
    kernel: [3, 3],
    stride: [2, 2],
    padding: [0, 1, 0, 1],
    dilation: [1, 1],
    gemm: { m: 9, n: 1, k: 9 },
    gemmCount: 4,
    roles: ['input', 'delta', 'weight'],
  },
  {
    name: 'fc3',
    op: 'dense',
    inputShape: [1, 36],
    outputShape: [1, 5],
    operandShape: [36, 5],
    gemm: { m: 1, n: 5, k: 36 },
    gemmCount: 1,
    roles: ['input', 'delta', 'weight'],
  },
  {
    name: 'attn4',
    op: 'attention-scores',
    inputShape: [3, 4],
    outputShape: [3, 3],
    operandShape: [4, 3],
    gemm: { m: 3, n: 3, k: 4 },
    gemmCount: 1,
    structural: 'causal',
    roles: ['input', 'rhs'],
  },
];

export function tinyManifest(seed: number): Omit<TraceManifest, 'steps'> {
  return {
    format: 'deltasim-trace',
    version: 1,
    producer: 'deltasim test fixture',
    model: { name: 'tiny-example', family: 'example', card: 'test/golden/traces/README.md' },
    seed,
    layers: TINY_LAYERS,
  };
}

export interface ExpectedTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly values: Float32Array;
}

export interface FixtureOptions {
  readonly seed?: number;
  readonly steps?: number;
  readonly dtype?: ValueDtype;
  readonly shardBytes?: number;
  /** Fraction of activation elements that are zero. */
  readonly zeroFraction?: number;
}

function sparse(prng: Prng, n: number, zeroFraction: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = prng.next() < zeroFraction ? 0 : prng.normal();
  return out;
}

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Writes the tiny trace and returns every value tensor as written (f32, before storage rounding). */
export async function writeTinyTrace(path: string, options: FixtureOptions = {}): Promise<ExpectedTensor[]> {
  const seed = options.seed ?? 7;
  const steps = options.steps ?? 4;
  const zeroFraction = options.zeroFraction ?? 0.5;
  const prng = createPrng(seed);
  const writerOptions: TraceWriterOptions = {
    manifest: tinyManifest(seed),
    ...(options.dtype ? { dtype: options.dtype } : {}),
    ...(options.shardBytes ? { shardBytes: options.shardBytes } : {}),
  };
  const writer = await createTraceWriter(path, writerOptions);
  const expected: ExpectedTensor[] = [];
  try {
    for (const layer of TINY_LAYERS) {
      if (!layer.roles.includes('weight')) continue;
      const shape = layer.operandShape!;
      const values = sparse(prng, numel(shape), 0.2);
      await writer.writeStatic(layer.name, 'weight', values, shape);
      expected.push({ name: tensorName(layer.name, 'weight'), shape, values });
    }
    const previous = new Map<string, Float32Array>();
    for (let index = 0; index < steps; index++) {
      const step: TraceStep = {
        index,
        sequence: Math.floor(index / 3),
        position: index % 3,
        keyFrame: index % 3 === 0,
      };
      const tensors: { layer: string; role: TensorRole; values: Float32Array; shape: readonly number[] }[] =
        [];
      for (const layer of TINY_LAYERS) {
        const shape = layer.inputShape;
        const prior = previous.get(layer.name);
        // Temporal sparsity: most elements repeat the previous step's value.
        const input = sparse(prng, numel(shape), zeroFraction);
        if (prior && !step.keyFrame)
          for (let i = 0; i < input.length; i++) if (prng.next() < 0.7) input[i] = prior[i]!;
        previous.set(layer.name, input);
        tensors.push({ layer: layer.name, role: 'input', values: input, shape });
        if (layer.roles.includes('delta')) {
          const delta = new Float32Array(input.length);
          for (let i = 0; i < input.length; i++)
            delta[i] = step.keyFrame || !prior ? input[i]! : input[i]! - prior[i]!;
          tensors.push({ layer: layer.name, role: 'delta', values: delta, shape });
        }
        if (layer.roles.includes('rhs')) {
          tensors.push({
            layer: layer.name,
            role: 'rhs',
            values: sparse(prng, numel(layer.operandShape!), 0.3),
            shape: layer.operandShape!,
          });
        }
      }
      await writer.writeStep(step, tensors);
      for (const t of tensors)
        expected.push({ name: tensorName(t.layer, t.role, index), shape: t.shape, values: t.values });
    }
    await writer.finish();
  } catch (error) {
    await writer.abort();
    throw error;
  }
  return expected;
}

/**
 * A one-layer dense trace whose per-step tensors (F32 192 KiB, F16 96 KiB) go through the WebAssembly
 * scan kernel (src/trace/tensor-scan.ts, MIN_FOLD_BYTES), unlike the tiny trace's.
 */
export const WIDE_LAYER: TraceLayer = {
  name: 'fc',
  op: 'dense',
  inputShape: [96, 512],
  outputShape: [96, 8],
  operandShape: [512, 8],
  gemm: { m: 96, n: 8, k: 512 },
  gemmCount: 1,
  roles: ['input', 'delta', 'weight'],
};

export async function writeWideTrace(path: string, options: FixtureOptions = {}): Promise<void> {
  const seed = options.seed ?? 11;
  const prng = createPrng(seed);
  const writer = await createTraceWriter(path, {
    manifest: { ...tinyManifest(seed), layers: [WIDE_LAYER] },
    ...(options.dtype ? { dtype: options.dtype } : {}),
  });
  const inputShape = WIDE_LAYER.inputShape;
  await writer.writeStatic('fc', 'weight', sparse(prng, numel(WIDE_LAYER.operandShape!), 0.2), [512, 8]);
  for (let index = 0; index < (options.steps ?? 2); index++) {
    await writer.writeStep({ index, sequence: 0, position: index, keyFrame: index === 0 }, [
      { layer: 'fc', role: 'input', values: sparse(prng, numel(inputShape), 0.5), shape: inputShape },
      { layer: 'fc', role: 'delta', values: sparse(prng, numel(inputShape), 0.8), shape: inputShape },
    ]);
  }
  await writer.finish();
}
