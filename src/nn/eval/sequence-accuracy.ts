import type * as tfTypes from '@tensorflow/tfjs';
import { isCorrect, type SequenceBatch } from '../data/sequence-task.js';
import type { Tf } from '../runtime.js';

/** Sequences [start, start + n) of a batch as an int32 `[n, T]` tensor. */
export function tokenTensor(tf: Tf, batch: SequenceBatch, start: number, n: number): tfTypes.Tensor2D {
  const t = batch.seqLen;
  return tf.tensor2d(batch.inputs.subarray(start * t, (start + n) * t), [n, t], 'int32');
}

export interface SequenceScore {
  /** Correct greedy predictions / scored positions (labels ≠ ignore). */
  readonly accuracy: number;
  readonly scored: number;
  readonly correct: number;
}

/** Adds the greedy predictions of sequences [start, start + n) to a running score. */
export function scorePredictions(
  batch: SequenceBatch,
  start: number,
  predicted: ArrayLike<number>,
  into: { correct: number; scored: number },
): void {
  const offset = start * batch.seqLen;
  for (let i = 0; i < predicted.length; i++) {
    const at = offset + i;
    if (batch.labels[at]! < 0) continue;
    into.scored += 1;
    if (isCorrect(batch, at, predicted[i]!)) into.correct += 1;
  }
}

/** Greedy next-token accuracy of `model` over the scored positions of `batch`. */
export function sequenceAccuracy(
  tf: Tf,
  model: tfTypes.LayersModel,
  batch: SequenceBatch,
  batchSize = 32,
): SequenceScore {
  const score = { correct: 0, scored: 0 };
  for (let start = 0; start < batch.count; start += batchSize) {
    const n = Math.min(batchSize, batch.count - start);
    const predicted = tf.tidy(() => {
      const x = tokenTensor(tf, batch, start, n);
      return tf.argMax(model.predict(x) as tfTypes.Tensor, -1).dataSync();
    });
    scorePredictions(batch, start, predicted, score);
  }
  return { ...score, accuracy: score.scored === 0 ? 0 : score.correct / score.scored };
}
