import * as tf from '@tensorflow/tfjs';

/**
 * Per-frame layers (conv, dense) run on [B·T, …]; temporal layers (DAL, frame pairs) on [B, T, …].
 * These two reshapes move between the forms. tfjs's TimeDistributed loops over T with an RNN
 * scaffold (T small convolutions instead of one big one), so folding is both simpler and faster.
 */
export class FoldTime extends tf.layers.Layer {
  static className = 'FoldTime';

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    return tf.reshape(x, [-1, ...x.shape.slice(2)]);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = inputShape as tf.Shape;
    return [null, ...shape.slice(2)];
  }
}

export interface UnfoldTimeArgs {
  readonly name?: string;
  /** Frames per clip: the folded batch is B·frames. */
  readonly frames: number;
}

export class UnfoldTime extends tf.layers.Layer {
  static className = 'UnfoldTime';
  readonly frames: number;

  constructor(args: UnfoldTimeArgs) {
    super(args);
    this.frames = args.frames;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    return tf.reshape(x, [-1, this.frames, ...x.shape.slice(1)]);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = inputShape as tf.Shape;
    return [null, this.frames, ...shape.slice(1)];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), frames: this.frames };
  }
}

/**
 * Stacks each frame with its predecessor along channels ([x_t, x_{t−1}], the first frame paired with
 * itself): a per-frame CNN whose logits are averaged over time cannot tell "left" from "right"
 * (the same frames in reverse order), but one that sees two consecutive frames can, like the
 * paper's two-frame training clips.
 */
export interface FramePairArgs {
  readonly name?: string;
  /**
   * Pair each frame with its temporal difference instead ([x_t, x_t − x_{t−1}], the same information
   * as [x_t, x_{t−1}] but with the motion signal explicit; the iFormer's video mode, docs/iformer.md).
   */
  readonly difference?: boolean;
}

export class FramePair extends tf.layers.Layer {
  static className = 'FramePair';
  readonly difference: boolean;

  constructor(args: FramePairArgs = {}) {
    super(args);
    this.difference = args.difference ?? false;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const [batch, frames] = x.shape as [number, number];
      const perFrame = x.size / (batch * frames);
      // Shift on the [B, T·F] view: rank-5 slices are very slow on wasm.
      const flat = tf.reshape(x, [batch, frames * perFrame]);
      const first = tf.slice(flat, [0, 0], [batch, perFrame]);
      const shifted =
        frames > 1 ? tf.concat([first, tf.slice(flat, [0, 0], [batch, (frames - 1) * perFrame])], 1) : first;
      const previous = tf.reshape(shifted, x.shape);
      return tf.concat([x, this.difference ? tf.sub(x, previous) : previous], x.rank - 1);
    });
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = [...(inputShape as tf.Shape)];
    const last = shape[shape.length - 1];
    shape[shape.length - 1] = typeof last === 'number' ? last * 2 : null;
    return shape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), ...(this.difference ? { difference: true } : {}) };
  }
}
