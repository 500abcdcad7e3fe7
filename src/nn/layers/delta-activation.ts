import * as tf from '@tensorflow/tfjs';

/** Constructor arguments (also the serialised config) of a Delta Activation Layer. */
export interface DeltaActivationArgs {
  readonly name?: string;
  /** Initial θ for every channel (the authors use 1–4 on unnormalised activations). */
  readonly thresholdInit?: number;
  /** Weight of the MAC-weighted L1 penalty on the deltas; 0 turns the penalty off. */
  readonly spRate?: number;
  /** MACs one changed value triggers in the next layer (filters·k·k of a conv, units of a dense). */
  readonly fanOut?: number;
  readonly trainable?: boolean;
}

/** θ never reaches 0: x/θ would overflow, and a zero step size means "no quantisation" anyway. */
const MIN_THRESHOLD = 1e-6;

/**
 * round(x/θ)·θ with the authors' custom gradients: the rounding is straight-through (∂q/∂x = 1) and
 * the step gets ∂q/∂θ = −round(x/θ) (sign flipped on purpose, the divisor carries no gradient), so
 * the sparsity penalty pushes θ up while the task loss pulls it down where accuracy needs it.
 */
export function quantiseSte(x: tf.Tensor, theta: tf.Tensor): tf.Tensor {
  const channels = theta.size;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, step, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const levels = tf.round(tf.div(input, step));
    save([levels]);
    return {
      value: tf.mul(levels, step),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const upstream = dy as tf.Tensor;
        const thetaGrad = tf.neg(tf.mul(upstream, saved[0]!));
        // Summing a [N, C] view over rows is far faster on wasm than a multi-axis reduction.
        return [upstream, tf.reshape(tf.sum(tf.reshape(thetaGrad, [-1, channels]), 0), step.shape)];
      },
    };
  });
  return op(x, theta);
}

/**
 * Δ_t = q_t − q_{t−1} along axis 1 (time), with the first frame dense: Δ_0 = q_0. Works on the
 * [B, T·F] view: wasm's Slice/Concat on rank-5 tensors are ~50x slower than on rank 2.
 */
export function temporalDeltas(q: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const [batch, frames] = q.shape as [number, number];
    if (frames <= 1) return q.clone();
    const perFrame = q.size / (batch * frames);
    const flat = tf.reshape(q, [batch, frames * perFrame]);
    const first = tf.slice(flat, [0, 0], [batch, perFrame]);
    const later = tf.slice(flat, [0, perFrame], [batch, (frames - 1) * perFrame]);
    const earlier = tf.slice(flat, [0, 0], [batch, (frames - 1) * perFrame]);
    return tf.reshape(tf.concat([first, tf.sub(later, earlier)], 1), q.shape);
  });
}

/** mean |Δ| over all values of all frames (Δ_0 = q_0), without materialising Δ. */
export function meanAbsTemporalDelta(q: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const [batch, frames] = q.shape as [number, number];
    const perFrame = q.size / (batch * frames);
    const flat = tf.reshape(q, [batch, frames * perFrame]);
    const first = tf.slice(flat, [0, 0], [batch, perFrame]);
    let total = tf.sum(tf.abs(first));
    if (frames > 1) {
      const later = tf.slice(flat, [0, perFrame], [batch, (frames - 1) * perFrame]);
      const earlier = tf.slice(flat, [0, 0], [batch, (frames - 1) * perFrame]);
      total = tf.add(total, tf.sum(tf.abs(tf.sub(later, earlier))));
    }
    return tf.div(total, q.size) as tf.Scalar;
  });
}

/**
 * Delta Activation Layer (docs/delta-cnn.md; Yousefzadeh & Sifalakis, arXiv 2107.07305) over [B, T, H, W, C] or [B, T, F]: quantises every
 * value to a multiple of its channel's trainable step θ = |threshold| and outputs q. The temporal
 * deltas of q are what a delta engine would compute on; their MAC-weighted mean magnitude
 * (spRate · fanOut · mean|Δ|) is left in `pendingPenalty` by every call with `training: true`, for
 * the training loop to add to the task loss (takePenalties in src/nn/train/train-loop.ts).
 */
export class DeltaActivation extends tf.layers.Layer {
  static className = 'DeltaActivation';
  readonly thresholdInit: number;
  spRate: number;
  fanOut: number;
  private threshold: tf.LayerVariable | undefined;
  /** The sparsity penalty of the last training call, to be consumed by the training step. */
  pendingPenalty: tf.Scalar | undefined;
  /** While set, every output q ([B, T, …, C]) is shown to it (measuring how sparse the deltas are). */
  observeOutput: ((q: tf.Tensor) => void) | undefined;

  constructor(args: DeltaActivationArgs = {}) {
    super(args);
    this.thresholdInit = args.thresholdInit ?? 0.05;
    this.spRate = args.spRate ?? 0;
    this.fanOut = args.fanOut ?? 1;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const channels = shape[shape.length - 1];
    if (typeof channels !== 'number') throw new Error('DeltaActivation needs a known channel count');
    this.threshold = this.addWeight(
      'threshold',
      [channels],
      'float32',
      tf.initializers.constant({ value: this.thresholdInit }),
    );
    this.built = true;
  }

  /** The step sizes θ in use, one per channel. */
  thetaTensor(): tf.Tensor1D {
    if (!this.threshold) throw new Error(`${this.name} is not built`);
    return tf.maximum(tf.abs(this.threshold.read()), MIN_THRESHOLD) as tf.Tensor1D;
  }

  /** θ as plain numbers (for the trace manifest and the model card). */
  thetaValues(): number[] {
    return tf.tidy(() => Array.from(this.thetaTensor().dataSync()));
  }

  // biome-ignore lint/suspicious/noExplicitAny: tfjs-layers types call() kwargs as {[key: string]: any}
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { [key: string]: any }): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    const q = quantiseSte(x, this.thetaTensor());
    this.observeOutput?.(q);
    if (kwargs.training === true && this.spRate > 0) {
      // Kept: the model's apply runs layers inside tidies; the training step disposes it.
      this.pendingPenalty?.dispose();
      this.pendingPenalty = tf.keep(tf.mul(this.spRate * this.fanOut, meanAbsTemporalDelta(q)) as tf.Scalar);
    }
    return q;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      thresholdInit: this.thresholdInit,
      spRate: this.spRate,
      fanOut: this.fanOut,
    };
  }
}
