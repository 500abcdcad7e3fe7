import type { KernelConfig, NamedAttrMap, Tensor, UnsortedSegmentSumAttrs } from '@tensorflow/tfjs';
import type { Tf } from '../runtime.js';

/**
 * `UnsortedSegmentSum` for wasm (the gradient of gather, i.e. of embeddings): a scatter-add on the
 * host, out[s, :] = Σ_i [ids_i = s] · x[i, :], in id order. Ids outside [0, numSegments) are
 * dropped, as TensorFlow does. A one-hot matmul gives the same sums but costs numSegments × ids ×
 * row MACs: at V = 8192 and 4096 tokens that was about a third of a DeltaNet training step; the
 * scatter-add costs ids × row additions. float32 accumulates in a Float32Array, so every partial
 * sum rounds to float32 as the matmul's in-order accumulation did; int32 sums stay exact.
 */
export function unsortedSegmentSumKernel(tf: Tf): KernelConfig {
  return {
    kernelName: 'UnsortedSegmentSum',
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs }) => {
      const { numSegments } = attrs as unknown as UnsortedSegmentSumAttrs & NamedAttrMap;
      const x = inputs.x as Tensor;
      const ids = inputs.segmentIds as Tensor;
      const rowShape = x.shape.slice(ids.rank);
      const rowSize = rowShape.reduce((p, d) => p * d, 1);
      const values = x.dataSync();
      const segment = ids.dataSync();
      const out =
        x.dtype === 'int32' ? new Int32Array(numSegments * rowSize) : new Float32Array(numSegments * rowSize);
      for (let i = 0; i < segment.length; i++) {
        const s = segment[i]!;
        if (!(s >= 0 && s < numSegments)) continue;
        const from = i * rowSize;
        const to = s * rowSize;
        for (let j = 0; j < rowSize; j++) out[to + j]! += values[from + j]!;
      }
      return tf.tensor(out, [numSegments, ...rowShape], x.dtype === 'int32' ? 'int32' : 'float32');
    },
  };
}
