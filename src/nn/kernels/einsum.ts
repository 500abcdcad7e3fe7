import type { EinsumAttrs, KernelConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs';
import type { Tf } from '../runtime.js';

/**
 * `Einsum` for wasm, following the cpu backend's plan (tfjs backend_util decides the contraction
 * path): per step, transpose each operand into the running dimension order, broadcast-multiply,
 * then sum out the contracted dimension.
 */
export function einsumKernel(tf: Tf): KernelConfig {
  return {
    kernelName: 'Einsum',
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs }) =>
      tf.tidy(() => {
        const { equation } = attrs as unknown as EinsumAttrs & NamedAttrMap;
        // Einsum's inputs arrive as an array-like map keyed "0", "1", ….
        const tensors = Object.keys(inputs)
          .sort((p, q) => Number(p) - Number(q))
          .map((k) => inputs[k] as Tensor);
        const bu = tf.backend_util;
        const { allDims, summedDims, idDims } = bu.decodeEinsumEquation(equation, tensors.length);
        bu.checkEinsumDimSizes(allDims.length, idDims, tensors);
        const { path, steps } = bu.getEinsumComputePath(summedDims, idDims);
        let out: Tensor | null = null;
        let dimsRemaining = allDims.length;
        for (let i = 0; i < steps.length; i++) {
          for (const term of steps[i] ?? []) {
            const source = tensors[term];
            const ids = idDims[term];
            if (!source || !ids) throw new Error(`Einsum: operand ${term} missing`);
            const { permutationIndices, expandDims } = bu.getEinsumPermutation(dimsRemaining, ids);
            let operand = bu.isIdentityPermutation(permutationIndices)
              ? source
              : tf.transpose(source, permutationIndices);
            const shape = [...operand.shape];
            for (const d of expandDims) shape.splice(d, 0, 1);
            operand = tf.reshape(operand, shape);
            out = out === null ? operand : tf.mul(operand, out);
          }
          if (i < steps.length - 1) {
            const axis = path[i] ?? -1;
            if (axis >= 0 && out !== null) out = tf.sum(out, axis - (allDims.length - dimsRemaining));
            dimsRemaining--;
          }
        }
        if (out === null) throw new Error(`Einsum: no operands for "${equation}"`);
        return out;
      }),
  };
}
