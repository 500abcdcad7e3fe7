import type * as tfTypes from '@tensorflow/tfjs';
import { isCorrect, type SequenceBatch } from '../data/sequence-task.js';
import { positionLogits, scoredPositions } from '../models/deltanet.js';
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

/** The labels of sequences [start, start + n): scoredPositions of it index into these sequences. */
export function batchLabels(batch: SequenceBatch, start: number, n: number): Int32Array {
  return batch.labels.subarray(start * batch.seqLen, (start + n) * batch.seqLen);
}

/**
 * Adds greedy predictions to a running score: `predicted[i]` is the token predicted at flat
 * position `positions[i]` of sequences [start, …) (scoredPositions of their labels).
 */
export function scorePredictions(
  batch: SequenceBatch,
  start: number,
  positions: Int32Array,
  predicted: ArrayLike<number>,
  into: { correct: number; scored: number },
): void {
  const offset = start * batch.seqLen;
  for (let i = 0; i < positions.length; i++) {
    into.scored += 1;
    if (isCorrect(batch, offset + positions[i]!, predicted[i]!)) into.correct += 1;
  }
}

/** Greedy next-token accuracy of a DeltaNet `model` over the scored positions of `batch` (LM head there only). */
export function sequenceAccuracy(
  tf: Tf,
  model: tfTypes.LayersModel,
  batch: SequenceBatch,
  batchSize = 32,
): SequenceScore {
  const score = { correct: 0, scored: 0 };
  for (let start = 0; start < batch.count; start += batchSize) {
    const n = Math.min(batchSize, batch.count - start);
    const positions = scoredPositions(batchLabels(batch, start, n));
    if (positions.length === 0) continue;
    const predicted = tf.tidy(() => {
      const x = tokenTensor(tf, batch, start, n);
      return tf.argMax(positionLogits(model, x, positions), -1).dataSync();
    });
    scorePredictions(batch, start, positions, predicted, score);
  }
  return { ...score, accuracy: score.scored === 0 ? 0 : score.correct / score.scored };
}
