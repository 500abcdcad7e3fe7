import type { KernelConfig } from '@tensorflow/tfjs';
import type { Tf } from '../runtime.js';
import { conv2dBackpropFilterKernel } from './conv2d-backprop-filter.js';
import { depthwiseBackpropFilterKernel, depthwiseBackpropInputKernel } from './depthwise-backprop.js';
import { einsumKernel } from './einsum.js';
import { oneHotFloatKernel } from './one-hot-float.js';
import { transposedMatMulKernels } from './transposed-matmul.js';
import { unsortedSegmentSumKernel } from './unsorted-segment-sum.js';

/** Kernels tfjs-backend-wasm 4.22 lacks and that training a conv net / transformer needs. */
export function missingWasmKernels(tf: Tf): KernelConfig[] {
  return [
    conv2dBackpropFilterKernel(tf),
    depthwiseBackpropFilterKernel(tf),
    depthwiseBackpropInputKernel(tf),
    unsortedSegmentSumKernel(tf),
    einsumKernel(tf),
  ];
}

// Marks the registry as patched, process-wide: a second copy of this module (tests, bundlers) must
// not wrap the matmul twice.
const PATCHED = Symbol.for('deltasim.wasmKernelsPatched');

export interface WasmPatchResult {
  /** Kernels added because wasm had none. */
  readonly added: readonly string[];
  /** Kernels replaced by a wrapper (the transposed-matmul fast path, the float32 one-hot fix). */
  readonly wrapped: readonly string[];
  /** The configs the wrappers replaced, so a benchmark can measure before/after. */
  readonly originals: ReadonlyMap<string, KernelConfig>;
}

/**
 * Registers the missing gradient kernels and wraps the transposed matmul, once per process.
 * A kernel wasm already has (a later tfjs release) is left alone.
 */
export function patchWasmKernels(tf: Tf): WasmPatchResult {
  const registry = globalThis as { [PATCHED]?: WasmPatchResult };
  const done = registry[PATCHED];
  if (done) return done;
  const added: string[] = [];
  for (const config of missingWasmKernels(tf)) {
    if (tf.getKernel(config.kernelName, 'wasm')) continue;
    tf.registerKernel(config);
    added.push(config.kernelName);
  }
  const wrapped: string[] = [];
  const originals = new Map<string, KernelConfig>();
  const oneHot = oneHotFloatKernel(tf);
  for (const config of [...transposedMatMulKernels(tf), ...(oneHot ? [oneHot] : [])]) {
    originals.set(config.kernelName, tf.getKernel(config.kernelName, 'wasm'));
    tf.unregisterKernel(config.kernelName, 'wasm');
    tf.registerKernel(config);
    wrapped.push(config.kernelName);
  }
  const result = { added, wrapped, originals };
  registry[PATCHED] = result;
  return result;
}
