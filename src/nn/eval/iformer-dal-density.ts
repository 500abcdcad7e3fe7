import type * as tfTypes from '@tensorflow/tfjs';
import type { VideoClipSet } from '../data/video-clips.js';
import { temporalDeltas } from '../layers/delta-activation.js';
import { iformerDeltaActivations } from '../models/iformer.js';
import type { TfRuntime } from '../runtime.js';
import { clipBatch } from '../train/train-loop.js';

type Tf = TfRuntime['tf'];

/** How sparse a video iFormer's DAL deltas are, MAC-weighted (docs/iformer.md, "Video mode"). */
export interface IFormerDalDensity {
  /**
   * Σ fanOut·(non-zero Δ) / Σ fanOut·(values) over every DAL and frame: the share of the MACs of
   * the DAL-fed ops a delta engine still executes (fanOut = MACs one changed value triggers).
   */
  readonly macWeightedDensity: number;
  /** The same over the first frame of each clip (Δ_0 = q_0) and over the later frames. */
  readonly keyFrameDensity: number;
  readonly deltaFrameDensity: number;
  /** Plain share of non-zero Δ per DAL, by name. */
  readonly perDal: Readonly<Record<string, number>>;
}

/**
 * Runs a video-mode iFormer over a clip set and counts the non-zero temporal deltas every Delta
 * Activation Layer sends (Δ_t = q_t − q_{t−1}, Δ_0 = q_0), weighted by the DAL's fan-out.
 */
export function iformerDalDensity(
  tf: Tf,
  model: tfTypes.LayersModel,
  set: VideoClipSet,
  batchSize = 8,
): IFormerDalDensity {
  const dals = iformerDeltaActivations(model);
  if (dals.length === 0) throw new Error(`${model.name} has no Delta Activation Layers`);
  // Per DAL: [non-zero on key frames, values on key frames, non-zero later, values later].
  const counts = new Map(dals.map((d) => [d.name, [0, 0, 0, 0]]));
  for (const dal of dals) {
    dal.observeOutput = (q) => {
      const [batch, frames] = q.shape as [number, number];
      const perFrame = q.size / (batch * frames);
      const [keyNonZero, laterNonZero] = tf.tidy(() => {
        const changed = tf.reshape(tf.notEqual(temporalDeltas(q), 0), [batch, frames, perFrame]);
        const perStep = Array.from(tf.sum(tf.cast(changed, 'float32'), [0, 2]).dataSync() as Float32Array);
        return [perStep[0]!, perStep.slice(1).reduce((a, b) => a + b, 0)];
      });
      const c = counts.get(dal.name)!;
      c[0]! += keyNonZero;
      c[1]! += batch * perFrame;
      c[2]! += laterNonZero;
      c[3]! += batch * (frames - 1) * perFrame;
    };
  }
  try {
    for (let start = 0; start < set.count; start += batchSize) {
      const indices = Array.from({ length: Math.min(batchSize, set.count - start) }, (_, i) => start + i);
      const { x, y } = clipBatch(tf, set, indices);
      tf.tidy(() => {
        model.predict(x);
      });
      tf.dispose([x, y]);
    }
  } finally {
    for (const dal of dals) dal.observeOutput = undefined;
  }
  let key = [0, 0];
  let later = [0, 0];
  const perDal: Record<string, number> = {};
  for (const dal of dals) {
    const [kn, kv, ln, lv] = counts.get(dal.name)! as [number, number, number, number];
    key = [key[0]! + dal.fanOut * kn, key[1]! + dal.fanOut * kv];
    later = [later[0]! + dal.fanOut * ln, later[1]! + dal.fanOut * lv];
    perDal[dal.name] = (kn + ln) / (kv + lv);
  }
  return {
    macWeightedDensity: (key[0]! + later[0]!) / (key[1]! + later[1]!),
    keyFrameDensity: key[0]! / key[1]!,
    deltaFrameDensity: later[1]! > 0 ? later[0]! / later[1]! : 0,
    perDal,
  };
}
