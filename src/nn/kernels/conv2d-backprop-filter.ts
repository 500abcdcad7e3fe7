import type { Conv2DBackpropFilterAttrs, KernelConfig, NamedAttrMap, Tensor4D } from '@tensorflow/tfjs';
import type { Tf } from '../runtime.js';
import { type PadAttr, padOrCropSpatial, windowGeometry } from './conv-geometry.js';

/**
 * `Conv2DBackpropFilter` for wasm (tfjs-backend-wasm 4.22 has none, so conv training fails there).
 * dW[fh,fw,ci,co] = Σ_{n,oh,ow} x[n, oh·s+fh−pt, ow·s+fw−pl, ci] · dy[n,oh,ow,co], which is itself a
 * stride-1 convolution: the input with channels and batch swapped ([Cin,H,W,N]) correlated with the
 * output gradient as the filter ([OH,OW,N,Cout]) dilated by the stride, giving [Cin,FH,FW,Cout].
 * That keeps the work inside XNNPACK's conv (an im2col built from StridedSlice ran ~20x slower).
 */
export function conv2dBackpropFilterKernel(tf: Tf): KernelConfig {
  return {
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs }) =>
      tf.tidy(() => {
        const a = attrs as unknown as Conv2DBackpropFilterAttrs & NamedAttrMap;
        const channelsFirst = a.dataFormat === 'NCHW';
        const xIn = inputs.x as Tensor4D;
        const dyIn = inputs.dy as Tensor4D;
        const x = channelsFirst ? tf.transpose(xIn, [0, 2, 3, 1]) : xIn;
        const dy = channelsFirst ? tf.transpose(dyIn, [0, 2, 3, 1]) : dyIn;
        const [filterHeight, filterWidth] = a.filterShape;
        const g = windowGeometry(
          tf,
          x.shape,
          a.filterShape,
          a.strides,
          1,
          a.pad as PadAttr,
          a.dimRoundingMode,
          false,
        );
        // Rows the forward op read: pad top/left as it did, pad or crop bottom/right so the
        // correlation below yields exactly FH x FW positions.
        const neededHeight = filterHeight + (g.outHeight - 1) * g.strideHeight;
        const neededWidth = filterWidth + (g.outWidth - 1) * g.strideWidth;
        const xT = padOrCropSpatial(
          tf,
          tf.transpose(x, [3, 1, 2, 0]),
          g.padTop,
          neededHeight - x.shape[1] - g.padTop,
          g.padLeft,
          neededWidth - x.shape[2] - g.padLeft,
        );
        const dyAsFilter = tf.transpose(dy, [1, 2, 0, 3]);
        const perInputChannel = tf.conv2d(xT, dyAsFilter, 1, 'valid', 'NHWC', [
          g.strideHeight,
          g.strideWidth,
        ]);
        return tf.transpose(perInputChannel, [1, 2, 0, 3]);
      }),
  };
}
