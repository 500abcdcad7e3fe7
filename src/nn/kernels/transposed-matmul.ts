import type { BatchMatMulAttrs, KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import type { Tf } from '../runtime.js';

/** What the backend object offers that the wrapper needs (tfjs types it as `{}`). */
interface DisposingBackend {
  disposeData(dataId: object): boolean;
}

/**
 * wasm's BatchMatMul / _FusedMatMul with transposeA/transposeB run 10–18x slower than transposing
 * first (docs/tfjs-runtime.md, "Pitfalls"), and autodiff of every dense/attention layer uses those flags. This wraps the
 * original kernel: transpose the flagged operands with wasm's own Transpose kernel, call the
 * original without flags, free the transposed copies. Returns the configs to register, or none if
 * the originals are not there.
 */
export function transposedMatMulKernels(tf: Tf): KernelConfig[] {
  const transposeKernel = tf.getKernel('Transpose', 'wasm');
  if (!transposeKernel) return [];
  const configs: KernelConfig[] = [];
  for (const kernelName of ['BatchMatMul', '_FusedMatMul']) {
    const original = tf.getKernel(kernelName, 'wasm');
    if (!original) continue;
    const originalFunc: KernelFunc = original.kernelFunc;
    const wrapped: KernelFunc = ({ inputs, backend, attrs }) => {
      const flags = attrs as unknown as BatchMatMulAttrs & NamedAttrMap;
      if (!flags.transposeA && !flags.transposeB) return originalFunc({ inputs, backend, attrs });
      const made: TensorInfo[] = [];
      const lastTwoSwapped = (t: TensorInfo): TensorInfo => {
        const perm = t.shape.map((_, i) => i);
        const last = perm.length - 1;
        perm[last] = last - 1;
        perm[last - 1] = last;
        const out = transposeKernel.kernelFunc({ inputs: { x: t }, backend, attrs: { perm } }) as TensorInfo;
        made.push(out);
        return out;
      };
      const a = inputs.a as TensorInfo;
      const b = inputs.b as TensorInfo;
      try {
        return originalFunc({
          inputs: {
            ...inputs,
            a: flags.transposeA ? lastTwoSwapped(a) : a,
            b: flags.transposeB ? lastTwoSwapped(b) : b,
          },
          backend,
          attrs: { ...attrs, transposeA: false, transposeB: false },
        });
      } finally {
        for (const t of made) (backend as DisposingBackend).disposeData(t.dataId);
      }
    };
    configs.push({
      kernelName,
      backendName: 'wasm',
      kernelFunc: wrapped,
      ...(original.setupFunc ? { setupFunc: original.setupFunc } : {}),
      ...(original.disposeFunc ? { disposeFunc: original.disposeFunc } : {}),
    });
  }
  return configs;
}
