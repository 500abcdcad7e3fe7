import type { Tensor, Tensor4D } from '@tensorflow/tfjs';
import type { Tf } from '../runtime.js';

/** Padding of a 2-D window op, as tfjs computes it for the forward op (so gradients line up with it). */
export interface WindowGeometry {
  readonly padTop: number;
  readonly padBottom: number;
  readonly padLeft: number;
  readonly padRight: number;
  readonly outHeight: number;
  readonly outWidth: number;
  readonly strideHeight: number;
  readonly strideWidth: number;
  readonly dilationHeight: number;
  readonly dilationWidth: number;
}

export type PadAttr =
  | 'valid'
  | 'same'
  | number
  | [[number, number], [number, number], [number, number], [number, number]];

export function windowGeometry(
  tf: Tf,
  inShapeNhwc: readonly [number, number, number, number],
  filterShape: readonly [number, number, number, number],
  strides: number | [number, number],
  dilations: number | [number, number],
  pad: PadAttr,
  dimRoundingMode: 'floor' | 'round' | 'ceil' | undefined,
  depthwise: boolean,
): WindowGeometry {
  const info = tf.backend_util.computeConv2DInfo(
    [...inShapeNhwc],
    [...filterShape],
    strides,
    dilations,
    pad,
    dimRoundingMode,
    depthwise,
    'channelsLast',
  );
  return {
    padTop: info.padInfo.top,
    padBottom: info.padInfo.bottom,
    padLeft: info.padInfo.left,
    padRight: info.padInfo.right,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    dilationHeight: info.dilationHeight,
    dilationWidth: info.dilationWidth,
  };
}

/**
 * Pads (positive amounts) or crops (negative amounts) the two spatial axes of an NHWC tensor.
 * Explicit paddings larger than the window can make the "full" correlation need a crop instead of a pad.
 */
export function padOrCropSpatial(
  tf: Tf,
  x: Tensor4D,
  top: number,
  bottom: number,
  left: number,
  right: number,
): Tensor4D {
  const [n, h, w, c] = x.shape;
  const padded =
    top > 0 || bottom > 0 || left > 0 || right > 0
      ? tf.pad(x, [
          [0, 0],
          [Math.max(top, 0), Math.max(bottom, 0)],
          [Math.max(left, 0), Math.max(right, 0)],
          [0, 0],
        ])
      : x;
  if (top >= 0 && bottom >= 0 && left >= 0 && right >= 0) return padded;
  const cropTop = Math.max(-top, 0);
  const cropLeft = Math.max(-left, 0);
  const height = h + top + bottom;
  const width = w + left + right;
  return tf.slice(padded, [0, cropTop, cropLeft, 0], [n, height, width, c]);
}

/**
 * The input patches a window op reads, one slab per filter tap, stacked on `axis`: with axis 0,
 * `[FH*FW, B, OH, OW, C]`, taps in row-major (fh, fw) order. Built from strided slices of the
 * padded input (wasm has StridedSlice, Pad and Pack), so no im2col kernel is needed.
 */
export function tapSlabs(
  tf: Tf,
  x: Tensor4D,
  filterHeight: number,
  filterWidth: number,
  g: WindowGeometry,
  axis = 0,
): Tensor {
  const [n, , , c] = x.shape;
  const spanHeight = (g.outHeight - 1) * g.strideHeight + 1;
  const spanWidth = (g.outWidth - 1) * g.strideWidth + 1;
  const neededHeight = (filterHeight - 1) * g.dilationHeight + spanHeight;
  const neededWidth = (filterWidth - 1) * g.dilationWidth + spanWidth;
  // Pad top/left as the forward op did; pad (or crop) bottom/right to exactly what the taps read.
  const bottom = neededHeight - x.shape[1] - g.padTop;
  const right = neededWidth - x.shape[2] - g.padLeft;
  const padded = padOrCropSpatial(tf, x, g.padTop, bottom, g.padLeft, right);
  const slabs: Tensor4D[] = [];
  for (let fh = 0; fh < filterHeight; fh++) {
    for (let fw = 0; fw < filterWidth; fw++) {
      const top = fh * g.dilationHeight;
      const left = fw * g.dilationWidth;
      slabs.push(
        tf.stridedSlice(
          padded,
          [0, top, left, 0],
          [n, top + spanHeight, left + spanWidth, c],
          [1, g.strideHeight, g.strideWidth, 1],
        ) as Tensor4D,
      );
    }
  }
  return tf.stack(slabs, axis);
}

/** Inserts `stride - 1` zeros between neighbouring rows/columns: the input of a transposed conv. */
export function dilateSpatial(tf: Tf, x: Tensor4D, strideHeight: number, strideWidth: number): Tensor4D {
  if (strideHeight === 1 && strideWidth === 1) return x;
  const [n, h, w, c] = x.shape;
  const spread = tf.pad(tf.reshape(x, [n, h, 1, w, 1, c]), [
    [0, 0],
    [0, 0],
    [0, strideHeight - 1],
    [0, 0],
    [0, strideWidth - 1],
    [0, 0],
  ]);
  const full = tf.reshape(spread, [n, h * strideHeight, w * strideWidth, c]) as Tensor4D;
  return tf.slice(full, [0, 0, 0, 0], [n, (h - 1) * strideHeight + 1, (w - 1) * strideWidth + 1, c]);
}
