import type * as tfTypes from '@tensorflow/tfjs';
import { DEFAULT_FRAMES, generateVideoClips, type VideoClipSet } from '../data/video-clips.js';
import type { MacLayerGeometry } from '../models/delta-cnn.js';
import type { TfRuntime } from '../runtime.js';
import { clipBatch } from '../train/train-loop.js';
import { EVAL_SEED, NAIVE_DELTA_THRESHOLD } from './eval-defaults.js';
import { macWeightMap, runLayerwise, weightedPerFrame } from './layerwise.js';

export type VariantName = 'dense' | 'naive-delta' | 'dal';

export interface LayerDensity {
  readonly name: string;
  /** MACs per frame of the layer (M·K·N). */
  readonly macs: number;
  /** MAC-weighted density of this layer's operand (see docs/delta-cnn.md). */
  readonly density: number;
}

export interface VariantResult {
  readonly name: VariantName;
  readonly accuracy: number;
  /** Σ_layers executed MACs / Σ_layers MACs with a real (non-padding) operand, over all frames. */
  readonly macWeightedDensity: number;
  /** The same over key frames only (t = 0, processed densely) and over the other frames. */
  readonly keyFrameDensity: number;
  readonly deltaFrameDensity: number;
  /**
   * MAC-weighted density of the values the layers consume (x, x̂_t or q_t) rather than of what is
   * transmitted: for `dal` it separates the quantisation's spatial zeros from the temporal ones.
   */
  readonly activationDensity: number;
  readonly layers: readonly LayerDensity[];
}

export interface EvaluateDeltaCnnOptions {
  /** The baseline model (dense and naive-delta variants). */
  readonly dense?: tfTypes.LayersModel;
  /** The DAL-trained model (dal variant). */
  readonly dal?: tfTypes.LayersModel;
  readonly clips?: number;
  readonly seed?: number;
  readonly naiveThreshold?: number;
  readonly batchSize?: number;
  readonly log?: (line: string) => void;
}

export interface DeltaCnnEvaluation {
  readonly clips: number;
  readonly seed: number;
  readonly frames: number;
  readonly variants: readonly VariantResult[];
}

type Tf = TfRuntime['tf'];

/** Accumulates executed and possible MACs per layer, split into key and non-key frames. */
class DensityTally {
  private readonly executed = new Map<string, [number, number]>();
  private readonly possible = new Map<string, [number, number]>();
  private readonly macs = new Map<string, number>();
  private readonly weights = new Map<string, tfTypes.Tensor>();

  constructor(private readonly tf: Tf) {}

  add(g: MacLayerGeometry, mask: tfTypes.Tensor, frames: number): void {
    const tf = this.tf;
    let w = this.weights.get(g.name);
    if (!w) {
      w = tf.keep(macWeightMap(tf, g));
      this.weights.set(g.name, w);
      this.macs.set(g.name, g.macs);
    }
    const done = weightedPerFrame(tf, mask, w);
    const all = weightedPerFrame(tf, tf.onesLike(mask), w);
    const e = this.executed.get(g.name) ?? [0, 0];
    const p = this.possible.get(g.name) ?? [0, 0];
    done.forEach((v, i) => {
      const slot = i % frames === 0 ? 0 : 1;
      e[slot] += v;
      p[slot] += all[i]!;
    });
    this.executed.set(g.name, e);
    this.possible.set(g.name, p);
  }

  result(name: VariantName, accuracy: number, activationDensity: number): VariantResult {
    let e = [0, 0];
    let p = [0, 0];
    const layers: LayerDensity[] = [];
    for (const [layer, ex] of this.executed) {
      const po = this.possible.get(layer)!;
      e = [e[0]! + ex[0], e[1]! + ex[1]];
      p = [p[0]! + po[0], p[1]! + po[1]];
      layers.push({ name: layer, macs: this.macs.get(layer)!, density: (ex[0] + ex[1]) / (po[0] + po[1]) });
    }
    for (const w of this.weights.values()) w.dispose();
    return {
      name,
      accuracy,
      macWeightedDensity: (e[0]! + e[1]!) / (p[0]! + p[1]!),
      keyFrameDensity: e[0]! / p[0]!,
      deltaFrameDensity: p[1]! > 0 ? e[1]! / p[1]! : 0,
      activationDensity,
      layers,
    };
  }
}

/** [B·T, …] → [B, T·F], the view on which wasm slices fast. */
function timeRows(tf: Tf, x: tfTypes.Tensor, frames: number): tfTypes.Tensor2D {
  return tf.reshape(x, [x.shape[0]! / frames, -1]) as tfTypes.Tensor2D;
}

/** Δ_t = q_t − q_{t−1}, Δ_0 = q_0, of a folded tensor, returned folded. */
export function foldedDeltas(tf: Tf, q: tfTypes.Tensor, frames: number): tfTypes.Tensor {
  return tf.tidy(() => {
    const rows = timeRows(tf, q, frames);
    const [batch, length] = rows.shape;
    const perFrame = length / frames;
    if (frames === 1) return q.clone();
    const first = tf.slice(rows, [0, 0], [batch, perFrame]);
    const later = tf.slice(rows, [0, perFrame], [batch, length - perFrame]);
    const earlier = tf.slice(rows, [0, 0], [batch, length - perFrame]);
    return tf.reshape(tf.concat([first, tf.sub(later, earlier)], 1), q.shape);
  });
}

/**
 * Delta inference with a fixed threshold and no training (a DeltaCNN/CBinfer-style baseline): the
 * layer sees x̂_t, where x̂_0 = x_0 and x̂_t = x̂_{t−1} + d·[|d| > threshold], d = x_t − x̂_{t−1}
 * (the engine remembers what it last sent, so errors never accumulate beyond the threshold).
 * Returns x̂ and the mask of transmitted values (x_0 ≠ 0 on the key frame), both folded.
 */
export function thresholdedDeltaInput(
  tf: Tf,
  x: tfTypes.Tensor,
  frames: number,
  threshold: number,
): { readonly input: tfTypes.Tensor; readonly sent: tfTypes.Tensor } {
  return tf.tidy(() => {
    const rows = timeRows(tf, x, frames);
    const [batch, length] = rows.shape;
    const perFrame = length / frames;
    let held = tf.slice(rows, [0, 0], [batch, perFrame]);
    const inputs = [held];
    const sent = [tf.cast(tf.notEqual(held, 0), 'float32')];
    for (let t = 1; t < frames; t++) {
      const d = tf.sub(tf.slice(rows, [0, t * perFrame], [batch, perFrame]), held);
      const fire = tf.cast(tf.greater(tf.abs(d), threshold), 'float32');
      held = tf.add(held, tf.mul(d, fire));
      inputs.push(held);
      sent.push(fire);
    }
    return {
      input: tf.reshape(tf.concat(inputs, 1), x.shape),
      sent: tf.reshape(tf.concat(sent, 1), x.shape),
    };
  });
}

function countCorrect(tf: Tf, logits: tfTypes.Tensor, labels: Int32Array): number {
  const predicted = tf.tidy(() => tf.argMax(logits, 1).dataSync());
  let correct = 0;
  predicted.forEach((p, i) => {
    if (p === labels[i]) correct += 1;
  });
  return correct;
}

function evaluateVariant(
  tf: Tf,
  name: VariantName,
  model: tfTypes.LayersModel,
  set: VideoClipSet,
  batchSize: number,
  threshold: number,
): VariantResult {
  const tally = new DensityTally(tf);
  const values = new DensityTally(tf);
  let correct = 0;
  for (let start = 0; start < set.count; start += batchSize) {
    const indices = Array.from({ length: Math.min(batchSize, set.count - start) }, (_, i) => start + i);
    const { x, y, labels } = clipBatch(tf, set, indices);
    const logits = tf.tidy(() =>
      runLayerwise(model, x, (g, input, frames) => {
        const nonZero = (t: tfTypes.Tensor) => tf.cast(tf.notEqual(t, 0), 'float32');
        if (name === 'dense') {
          tally.add(g, nonZero(input), frames);
          values.add(g, nonZero(input), frames);
          return input;
        }
        if (name === 'naive-delta') {
          const { input: held, sent } = thresholdedDeltaInput(tf, input, frames, threshold);
          tally.add(g, sent, frames);
          values.add(g, nonZero(held), frames);
          return held;
        }
        // dal: the input already is q (the DAL in front of the layer quantised it).
        tally.add(g, nonZero(foldedDeltas(tf, input, frames)), frames);
        values.add(g, nonZero(input), frames);
        return input;
      }),
    );
    correct += countCorrect(tf, logits, labels);
    tf.dispose([logits, x, y]);
  }
  const activationDensity = values.result(name, 0, 0).macWeightedDensity;
  return tally.result(name, set.count === 0 ? 0 : correct / set.count, activationDensity);
}

/**
 * The three variants of the issue on held-out clips: `dense` (baseline, density of its non-zero
 * activations), `naive-delta` (the baseline in delta mode with a fixed tiny threshold, density of the
 * transmitted deltas) and `dal` (the DAL-trained model, density of its temporal deltas Δ_t). Every
 * density is MAC-weighted and counts the key frame (t = 0, dense) — docs/delta-cnn.md.
 */
export function evaluateDeltaCnn(runtime: TfRuntime, options: EvaluateDeltaCnnOptions): DeltaCnnEvaluation {
  const { tf } = runtime;
  const seed = options.seed ?? EVAL_SEED;
  const count = options.clips ?? 500;
  const frames = (options.dense ?? options.dal)?.inputs[0]?.shape[1] ?? DEFAULT_FRAMES;
  const set = generateVideoClips({ seed, count, split: 'heldout', frames });
  const batchSize = options.batchSize ?? 25;
  const threshold = options.naiveThreshold ?? NAIVE_DELTA_THRESHOLD;
  const variants: VariantResult[] = [];
  const log = options.log ?? (() => {});
  if (options.dense) {
    for (const name of ['dense', 'naive-delta'] as const) {
      log(`evaluating ${name} on ${count} held-out clips`);
      variants.push(evaluateVariant(tf, name, options.dense, set, batchSize, threshold));
    }
  }
  if (options.dal) {
    log(`evaluating dal on ${count} held-out clips`);
    variants.push(evaluateVariant(tf, 'dal', options.dal, set, batchSize, threshold));
  }
  return { clips: count, seed, frames, variants };
}
