import type * as tfTypes from '@tensorflow/tfjs';
import { deltaCnnGeometry, type MacLayerGeometry } from '../models/delta-cnn.js';
import type { TfRuntime } from '../runtime.js';

type Tf = TfRuntime['tf'];

/**
 * Sees (and may replace) the input of every MAC-bearing layer: `input` is time-folded,
 * [B·T, H, W, C] or [B·T, K]. Returning another tensor of the same shape feeds that to the layer.
 */
export type MacInputHook = (layer: MacLayerGeometry, input: tfTypes.Tensor, frames: number) => tfTypes.Tensor;

/**
 * Runs a delta-cnn model layer by layer on concrete tensors (the model is a chain), calling `hook`
 * in front of every conv/dense layer. Returns the model's output (time-averaged logits [B, classes]).
 * Call inside tf.tidy.
 */
export function runLayerwise(
  model: tfTypes.LayersModel,
  clips: tfTypes.Tensor,
  hook: MacInputHook,
): tfTypes.Tensor {
  const frames = clips.shape[1]!;
  const size = clips.shape[2]!;
  const classes = (model.outputs[0]!.shape[1] as number | null) ?? 10;
  const geometry = new Map(deltaCnnGeometry(size, classes).map((g) => [g.name, g]));
  let x = clips;
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    if (layer.inboundNodes.length !== 1 || layer.inboundNodes[0]!.inboundLayers.length !== 1) {
      throw new Error(`layer ${layer.name}: runLayerwise handles chains only`);
    }
    const g = geometry.get(layer.name);
    if (g) x = hook(g, x, frames);
    x = layer.apply(x) as tfTypes.Tensor;
  }
  return x;
}

/**
 * How many MACs of a layer each input value feeds, as a [H, W, 1] map (conv: output positions whose
 * window covers the pixel, times the filter count — the padding's zeros feed nothing) or a scalar
 * (dense: the unit count). Summing map × non-zero mask gives the MACs a sparse engine executes.
 */
export function macWeightMap(tf: Tf, g: MacLayerGeometry): tfTypes.Tensor {
  const filters = g.outputShape[g.outputShape.length - 1]!;
  if (g.op === 'dense') return tf.scalar(filters);
  const [h, w] = g.inputShape as [number, number, number];
  const [ho, wo] = g.outputShape as [number, number, number];
  const cover = (size: number, out: number, pad: number): number[] => {
    const counts = new Array<number>(size).fill(0);
    for (let o = 0; o < out; o++) {
      for (let k = 0; k < g.kernel; k++) {
        const i = o * g.stride + k - pad;
        if (i >= 0 && i < size) counts[i]! += 1;
      }
    }
    return counts;
  };
  const rows = cover(h, ho, g.padding[0]);
  const cols = cover(w, wo, g.padding[2]);
  const map = new Float32Array(h * w);
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) map[i * w + j] = rows[i]! * cols[j]! * filters;
  return tf.tensor3d(map, [h, w, 1]);
}

/** MAC-weighted sums of a folded 0/1 mask, one per frame ([B·T] numbers). */
export function weightedPerFrame(tf: Tf, mask: tfTypes.Tensor, weights: tfTypes.Tensor): Float32Array {
  return tf.tidy(() => {
    const weighted = tf.mul(mask, weights);
    return tf.sum(tf.reshape(weighted, [mask.shape[0]!, -1]), 1).dataSync() as Float32Array;
  });
}
