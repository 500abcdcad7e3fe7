/**
 * Runs the same computation on the cpu backend (the reference) and on wasm within one process, for
 * the kernel-equivalence tests. Inputs are plain arrays so both backends get identical bytes.
 */
import type { NamedAttrMap, Tensor } from '@tensorflow/tfjs';
import { createPrng } from '../../src/common/prng.js';
import { loadTf, type Tf } from '../../src/nn/runtime.js';

export interface HostTensor {
  readonly shape: readonly number[];
  readonly values: Float32Array | Int32Array;
  readonly dtype: 'float32' | 'int32';
}

export async function wasmTf(): Promise<Tf> {
  return (await loadTf({ prefer: 'wasm' })).tf;
}

export function randomHost(seed: number, shape: readonly number[]): HostTensor {
  const prng = createPrng(seed);
  const size = shape.reduce((p, d) => p * d, 1);
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = prng.normal();
  return { shape, values, dtype: 'float32' };
}

export function intHost(shape: readonly number[], values: readonly number[]): HostTensor {
  return { shape, values: Int32Array.from(values), dtype: 'int32' };
}

export interface Outcome {
  readonly shape: readonly number[];
  readonly values: Float32Array | Int32Array | Uint8Array;
}

/** Runs `build` on `backend` with fresh tensors made from `inputs`; everything is disposed after. */
export async function runOn(
  tf: Tf,
  backend: 'cpu' | 'wasm',
  inputs: Readonly<Record<string, HostTensor>>,
  build: (tensors: Record<string, Tensor>) => Tensor,
): Promise<Outcome> {
  await tf.setBackend(backend);
  const out = tf.tidy(() => {
    const tensors: Record<string, Tensor> = {};
    for (const [name, h] of Object.entries(inputs))
      tensors[name] = tf.tensor(h.values, [...h.shape], h.dtype);
    return build(tensors);
  });
  const values = (await out.data()) as Float32Array | Int32Array | Uint8Array;
  const shape = [...out.shape];
  out.dispose();
  return { shape, values };
}

/** Runs one registered kernel by name on `backend`. */
export function runKernelOn(
  tf: Tf,
  backend: 'cpu' | 'wasm',
  kernelName: string,
  inputs: Readonly<Record<string, HostTensor>>,
  attrs: Record<string, unknown>,
): Promise<Outcome> {
  return runOn(
    tf,
    backend,
    inputs,
    (t) => tf.engine().runKernel(kernelName, t, attrs as NamedAttrMap) as Tensor,
  );
}

/** max |a − b| / max |b|: one scale for the whole tensor, so near-zero entries do not blow it up. */
export function relativeError(candidate: Outcome, reference: Outcome): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < reference.values.length; i++) {
    const r = reference.values[i] ?? 0;
    diff = Math.max(diff, Math.abs((candidate.values[i] ?? Number.NaN) - r));
    scale = Math.max(scale, Math.abs(r));
  }
  if (candidate.values.length !== reference.values.length) return Number.POSITIVE_INFINITY;
  if (Number.isNaN(diff)) return Number.POSITIVE_INFINITY;
  return scale === 0 ? diff : diff / scale;
}
