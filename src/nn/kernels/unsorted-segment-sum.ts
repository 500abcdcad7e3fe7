import type { KernelConfig, NamedAttrMap, Tensor, UnsortedSegmentSumAttrs } from '@tensorflow/tfjs';
import type { Tf } from '../runtime.js';

/**
 * `UnsortedSegmentSum` for wasm (the gradient of gather, i.e. of embeddings): a one-hot matmul,
 * out[s, :] = Σ_i [ids_i = s] · x[i, :]. Ids outside [0, numSegments) get an all-zero one-hot row
 * and are dropped, as TensorFlow does. wasm's oneHot is built as int32 and cast afterwards
 * (docs/tfjs-runtime.md, "Pitfalls": its float32 oneHot is wrong); its matmul is float32-only, so int32 data round-trips
 * through float32 (exact below 2^24).
 */
export function unsortedSegmentSumKernel(tf: Tf): KernelConfig {
  return {
    kernelName: 'UnsortedSegmentSum',
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs }) =>
      tf.tidy(() => {
        const { numSegments } = attrs as unknown as UnsortedSegmentSumAttrs & NamedAttrMap;
        const x = inputs.x as Tensor;
        const ids = inputs.segmentIds as Tensor;
        const idCount = ids.size;
        const rowShape = x.shape.slice(ids.rank);
        const rowSize = rowShape.reduce((p, d) => p * d, 1);
        const rows = tf.reshape(tf.cast(x, 'float32'), [idCount, rowSize]);
        const oneHot = tf.cast(
          tf.oneHot(tf.reshape(tf.cast(ids, 'int32'), [idCount]), numSegments),
          'float32',
        );
        // [numSegments, idCount] explicitly: transposeA on wasm's matmul is the slow path.
        const summed = tf.matMul(tf.transpose(oneHot), rows);
        const out = tf.reshape(summed, [numSegments, ...rowShape]);
        return x.dtype === 'float32' ? out : tf.cast(out, x.dtype);
      }),
  };
}
