import type { KernelConfig, NamedAttrMap, OneHotAttrs, Tensor } from '@tensorflow/tfjs';
import type { Tf } from '../runtime.js';

/**
 * wasm's OneHot writes int32 bit patterns whatever the dtype, so `oneHot(…, 'float32')` yields
 * denormals (1.4e-45) instead of 1 (docs/tfjs-runtime.md, "Pitfalls"). The wrapper asks the original kernel for an int32
 * 0/1 one-hot and builds the float result from it: cast · (on − off) + off (label smoothing works).
 */
export function oneHotFloatKernel(tf: Tf): KernelConfig | undefined {
  const original = tf.getKernel('OneHot', 'wasm');
  if (!original) return undefined;
  const originalFunc = original.kernelFunc;
  return {
    kernelName: 'OneHot',
    backendName: 'wasm',
    kernelFunc: (args) => {
      const attrs = args.attrs as unknown as OneHotAttrs & NamedAttrMap;
      if (attrs.dtype === 'int32') return originalFunc(args);
      return tf.tidy(() => {
        // Inside a kernel the inputs are engine Tensors.
        const hot = tf.engine().runKernel(
          'OneHot',
          { indices: args.inputs.indices as Tensor },
          {
            ...attrs,
            dtype: 'int32',
            onValue: 1,
            offValue: 0,
          },
        ) as Tensor;
        const unit = tf.cast(hot, attrs.dtype);
        if (attrs.onValue === 1 && attrs.offValue === 0) return unit;
        return tf.add(tf.mul(unit, attrs.onValue - attrs.offValue), attrs.offValue);
      });
    },
    ...(original.setupFunc ? { setupFunc: original.setupFunc } : {}),
    ...(original.disposeFunc ? { disposeFunc: original.disposeFunc } : {}),
  };
}
