import type {
  DepthwiseConv2dNativeBackpropFilterAttrs,
  DepthwiseConv2dNativeBackpropInputAttrs,
  KernelConfig,
  NamedAttrMap,
  Tensor4D,
} from '@tensorflow/tfjs';
import type { Tf } from '../runtime.js';
import {
  dilateSpatial,
  type PadAttr,
  padOrCropSpatial,
  tapSlabs,
  type WindowGeometry,
  windowGeometry,
} from './conv-geometry.js';

/**
 * `DepthwiseConv2dNativeBackpropFilter` for wasm. Filter [FH,FW,C,M], dy [N,OH,OW,C·M]:
 * dW[fh,fw,c,m] = Σ_{n,oh,ow} x[n, oh·s+fh·d−pt, ow·s+fw·d−pl, c] · dy[n,oh,ow,c·M+m].
 * Folding the batch into the channels ([1,H,W,N·C]) makes it one depthwise conv of the input with
 * the output gradient as an [OH,OW,N·C,M] filter (stride d, dilation s), summed over the batch
 * afterwards — XNNPACK's depthwise conv instead of slow StridedSlices. tfjs convs cannot take a
 * stride and a dilation above 1 at once, so that (rare, gradient-less in tfjs) case uses patches.
 */
export function depthwiseBackpropFilterKernel(tf: Tf): KernelConfig {
  return {
    kernelName: 'DepthwiseConv2dNativeBackpropFilter',
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs }) =>
      tf.tidy(() => {
        const a = attrs as unknown as DepthwiseConv2dNativeBackpropFilterAttrs & NamedAttrMap;
        const x = inputs.x as Tensor4D;
        const dy = inputs.dy as Tensor4D;
        const g = windowGeometry(
          tf,
          x.shape,
          a.filterShape,
          a.strides,
          a.dilations,
          a.pad as PadAttr,
          a.dimRoundingMode,
          true,
        );
        const strided = g.strideHeight > 1 || g.strideWidth > 1;
        const dilated = g.dilationHeight > 1 || g.dilationWidth > 1;
        return strided && dilated
          ? depthwiseFilterGradByPatches(tf, x, dy, a.filterShape, g)
          : depthwiseFilterGradByConv(tf, x, dy, a.filterShape, g);
      }),
  };
}

function depthwiseFilterGradByConv(
  tf: Tf,
  x: Tensor4D,
  dy: Tensor4D,
  filterShape: readonly [number, number, number, number],
  g: WindowGeometry,
): Tensor4D {
  const [filterHeight, filterWidth, channels, multiplier] = filterShape;
  const [batch, height, width] = x.shape;
  const neededHeight = (filterHeight - 1) * g.dilationHeight + (g.outHeight - 1) * g.strideHeight + 1;
  const neededWidth = (filterWidth - 1) * g.dilationWidth + (g.outWidth - 1) * g.strideWidth + 1;
  const folded = tf.reshape(tf.transpose(x, [1, 2, 0, 3]), [1, height, width, batch * channels]) as Tensor4D;
  const padded = padOrCropSpatial(
    tf,
    folded,
    g.padTop,
    neededHeight - height - g.padTop,
    g.padLeft,
    neededWidth - width - g.padLeft,
  );
  const dyAsFilter = tf.reshape(
    tf.transpose(tf.reshape(dy, [batch, g.outHeight, g.outWidth, channels, multiplier]), [1, 2, 0, 3, 4]),
    [g.outHeight, g.outWidth, batch * channels, multiplier],
  ) as Tensor4D;
  const perSample = tf.depthwiseConv2d(
    padded,
    dyAsFilter,
    [g.dilationHeight, g.dilationWidth],
    'valid',
    'NHWC',
    [g.strideHeight, g.strideWidth],
  ); // [1, FH, FW, N·C·M]
  return tf.sum(
    tf.reshape(perSample, [filterHeight, filterWidth, batch, channels, multiplier]),
    2,
  ) as Tensor4D;
}

/** dW per channel as a [taps × P]·[P × M] GEMM over input patches (one strided slice per tap). */
function depthwiseFilterGradByPatches(
  tf: Tf,
  x: Tensor4D,
  dy: Tensor4D,
  filterShape: readonly [number, number, number, number],
  g: WindowGeometry,
): Tensor4D {
  const [filterHeight, filterWidth, channels, multiplier] = filterShape;
  const positions = x.shape[0] * g.outHeight * g.outWidth;
  const taps = filterHeight * filterWidth;
  const xT = tf.transpose(x, [3, 1, 2, 0]); // [C, H, W, N]
  const patches = tf.reshape(tapSlabs(tf, xT, filterHeight, filterWidth, g, 1), [channels, taps, positions]);
  const dyPerChannel = tf.reshape(
    tf.transpose(
      tf.reshape(dy, [x.shape[0], g.outHeight, g.outWidth, channels, multiplier]),
      [3, 1, 2, 0, 4],
    ),
    [channels, positions, multiplier],
  ); // [C, OH·OW·N, M], positions in the same (oh, ow, n) order as the patches
  const perChannel = tf.matMul(patches, dyPerChannel); // [C, taps, M]
  return tf.reshape(tf.transpose(perChannel, [1, 0, 2]), [filterHeight, filterWidth, channels, multiplier]);
}

/**
 * `DepthwiseConv2dNativeBackpropInput` for wasm: the transposed depthwise conv. The output gradient
 * is spread by the stride (zeros between rows/columns), padded for a "full" correlation, and
 * correlated with the spatially flipped filter, each of the C·M channels on its own; the M
 * multiplier channels of each input channel are then summed.
 */
export function depthwiseBackpropInputKernel(tf: Tf): KernelConfig {
  return {
    kernelName: 'DepthwiseConv2dNativeBackpropInput',
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs }) =>
      tf.tidy(() => {
        const a = attrs as unknown as DepthwiseConv2dNativeBackpropInputAttrs & NamedAttrMap;
        const dy = inputs.dy as Tensor4D;
        const filter = inputs.filter as Tensor4D;
        const [batch, height, width, channels] = a.inputShape;
        const [filterHeight, filterWidth, , multiplier] = filter.shape;
        const g = windowGeometry(
          tf,
          a.inputShape,
          filter.shape,
          a.strides,
          a.dilations,
          a.pad as PadAttr,
          a.dimRoundingMode,
          true,
        );
        const spread = dilateSpatial(tf, dy, g.strideHeight, g.strideWidth);
        const reachHeight = (filterHeight - 1) * g.dilationHeight;
        const reachWidth = (filterWidth - 1) * g.dilationWidth;
        const top = reachHeight - g.padTop;
        const left = reachWidth - g.padLeft;
        const bottom = height + reachHeight - top - spread.shape[1];
        const right = width + reachWidth - left - spread.shape[2];
        const padded = padOrCropSpatial(tf, spread, top, bottom, left, right);
        const flipped = tf.reshape(tf.reverse(filter, [0, 1]), [
          filterHeight,
          filterWidth,
          channels * multiplier,
          1,
        ]) as Tensor4D;
        const perOutputChannel = tf.depthwiseConv2d(padded, flipped, 1, 'valid', 'NHWC', [
          g.dilationHeight,
          g.dilationWidth,
        ]);
        if (multiplier === 1) return perOutputChannel;
        return tf.sum(tf.reshape(perOutputChannel, [batch, height, width, channels, multiplier]), 4);
      }),
  };
}
