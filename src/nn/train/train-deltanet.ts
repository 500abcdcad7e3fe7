import type * as tfTypes from '@tensorflow/tfjs';
import { IGNORE_LABEL, type SequenceBatch } from '../data/sequence-task.js';
import { type TaskSettings, taskBatch } from '../data/tasks.js';
import { scorePredictions, sequenceAccuracy, tokenTensor } from '../eval/sequence-accuracy.js';
import { buildDeltaNet, type DeltaNetOptions, positionLogits, scoredPositions } from '../models/deltanet.js';
import type { TfRuntime } from '../runtime.js';
import { restoreAdam, snapshotAdam } from './adam-state.js';
import { epochSeed } from './batch-schedule.js';
import {
  type Checkpoint,
  checkResumeOptions,
  type EpochProgress,
  readCheckpoint,
  writeCheckpoint,
} from './checkpoint.js';
import { type LrDecay, learningRateAt } from './lr-schedule.js';
import { nextTurn, restoreWeights, snapshotWeights } from './train-loop.js';

type Tf = TfRuntime['tf'];

export interface TrainDeltaNetOptions {
  readonly task: TaskSettings;
  readonly model: Omit<DeltaNetOptions, 'vocab' | 'seed'>;
  readonly seed: number;
  /** Optimizer steps in all (counting resumed ones); a round of `stepsPerRound` ends in a checkpoint. */
  readonly steps: number;
  readonly stepsPerRound?: number;
  readonly batchSize?: number;
  /** Adam learning rate, reached linearly over `warmupSteps`, then held or cosine-decayed (`lrDecay`). */
  readonly learningRate?: number;
  readonly lrDecay?: LrDecay;
  readonly warmupSteps?: number;
  /** Held-out sequences scored after each round. */
  readonly validationCount?: number;
  readonly checkpointDir?: string;
  readonly resume?: boolean;
  readonly log?: (line: string) => void;
  readonly now?: () => number;
  /** Asked after every step; true stops training there, after a checkpoint at that step. */
  readonly shouldStop?: () => boolean;
}

export interface DeltaNetRound {
  readonly [key: string]: number;
  readonly round: number;
  readonly steps: number;
  readonly loss: number;
  readonly trainAccuracy: number;
  readonly validationAccuracy: number;
  /** Wall-clock training time up to the end of this round, resumed sessions included. */
  readonly seconds: number;
}

export interface TrainDeltaNetResult {
  readonly model: tfTypes.LayersModel;
  readonly history: readonly DeltaNetRound[];
  /** Set when `shouldStop` ended training early: the steps done, all saved in the checkpoint. */
  readonly stoppedAt?: number;
}

/** Seed offset of the per-round validation set (evaluation uses its own, EVAL_SEED-based). */
export const DELTANET_VALIDATION_SEED_OFFSET = 104_729;

export const DELTANET_WARMUP_STEPS = 100;

// 2^n for n in [−1075, 24]: the exponent part of expNonPositive.
const POW2 = Float64Array.from({ length: 1100 }, (_, i) => 2 ** (i - 1075));

/**
 * e^x for x ≤ 0 (a logit minus its row's maximum) to within 1e-7 relative, about twice as fast
 * as Math.exp in V8: x·log₂e = n + f, e^x = 2^n · e^(f·ln 2), the last by its Taylor series to
 * degree 8 (remainder < 3e-8 on [0, ln 2)). Float32 logits carry 6e-8 relative rounding already.
 */
export function expNonPositive(x: number): number {
  const t = x * Math.LOG2E;
  if (!(t >= -1074)) return 0;
  const n = Math.floor(t);
  const f = (t - n) * Math.LN2;
  const series =
    1 +
    f *
      (1 +
        f *
          (1 / 2 + f * (1 / 6 + f * (1 / 24 + f * (1 / 120 + f * (1 / 720 + f * (1 / 5040 + f / 40320)))))));
  return series * POW2[n + 1075]!;
}

/**
 * Mean cross-entropy over the scored positions (labels ≠ IGNORE_LABEL) of logits `[…, V]`, one
 * label per row: `[B, T, V]` with the batch's labels, or positionLogits' `[P, V]` with the labels
 * at those positions. Computed on the host as one fused softmax cross-entropy: the value is
 * Σ (logsumexp(row) − row[label]) / scored and the gradient (softmax(row) − onehot(label)) / scored,
 * so each logit costs one exp. The same function as logSoftmax + one-hot + masked mean in tfjs ops,
 * but those take two exps per logit (forward and logSoftmax's gradient) plus a one-hot and
 * products over every [rows, V] element: at V = 8192 that was a sixth of a training step.
 */
export function maskedCrossEntropy(tf: Tf, logits: tfTypes.Tensor, labels: Int32Array): tfTypes.Scalar {
  const vocab = logits.shape[logits.shape.length - 1]!;
  const rows = logits.size / vocab;
  if (labels.length !== rows) throw new Error(`cross-entropy: ${labels.length} labels for ${rows} rows`);
  // tfjs types the inputs as tensors or the save function; the one input here is the logits.
  const loss = tf.customGrad((...inputs) => {
    const x = inputs[0] as tfTypes.Tensor;
    const data = x.dataSync() as Float32Array;
    const grad = new Float32Array(data.length);
    let scored = 0;
    for (const label of labels) if (label !== IGNORE_LABEL) scored += 1;
    const scale = 1 / Math.max(1, scored);
    let total = 0;
    for (let r = 0; r < rows; r++) {
      const label = labels[r]!;
      if (label === IGNORE_LABEL) continue;
      if (!(label >= 0 && label < vocab))
        throw new Error(`cross-entropy: label ${label} outside [0, ${vocab})`);
      const base = r * vocab;
      let max = Number.NEGATIVE_INFINITY;
      for (let j = base; j < base + vocab; j++) if (data[j]! > max) max = data[j]!;
      let sum = 0;
      for (let j = base; j < base + vocab; j++) {
        const e = expNonPositive(data[j]! - max);
        grad[j] = e;
        sum += e;
      }
      total += max + Math.log(sum) - data[base + label]!;
      const toProbability = scale / sum;
      for (let j = base; j < base + vocab; j++) grad[j]! *= toProbability;
      grad[base + label]! -= scale;
    }
    return {
      value: tf.scalar(total * scale),
      gradFunc: (dy: tfTypes.Tensor) => tf.mul(tf.tensor(grad, x.shape, 'float32'), dy),
    };
  });
  return loss(logits) as tfTypes.Scalar;
}

/** The seed of training step `step`'s fresh batch. */
function stepSeed(seed: number, step: number): number {
  return epochSeed(seed ^ 0x2545f491, step);
}

/**
 * Trains a DeltaNet (or linear-attention) LM on a synthetic task: every step a fresh batch drawn
 * from the task's generator with a seed derived from (seed, step), Adam with warm-up (then constant
 * or cosine decay), the chunkwise form throughout. A checkpoint after each round, and at the step where
 * `shouldStop` ends a run early, makes `resume` continue with
 * the same weights, optimizer state and data stream.
 */
export async function trainDeltaNet(
  runtime: TfRuntime,
  options: TrainDeltaNetOptions,
): Promise<TrainDeltaNetResult> {
  const { tf } = runtime;
  const log = options.log ?? (() => {});
  const now = options.now ?? (() => 0);
  const batchSize = options.batchSize ?? 32;
  const stepsPerRound = options.stepsPerRound ?? 100;
  const peak = options.learningRate ?? 3e-3;
  const warmup = options.warmupSteps ?? DELTANET_WARMUP_STEPS;
  const decay = options.lrDecay ?? 'constant';
  const model = buildDeltaNet({ ...options.model, vocab: options.task.vocab, seed: options.seed });
  const optimizer = tf.train.adam(peak);
  const trainable = model.trainableWeights.map((w) => w.read() as tfTypes.Variable);
  let history: DeltaNetRound[] = [];
  let step = 0;
  // A run stopped inside a round saved the round's running sums with its checkpoint.
  let resumedRound: EpochProgress | undefined;
  let resumedLosses: readonly number[] = [];
  const checkpointOptions = {
    task: options.task,
    model: options.model,
    seed: options.seed,
    batchSize,
    stepsPerRound,
    // A decaying schedule depends on the total: a checkpoint resumes only a run with the same one.
    ...(decay !== 'constant' ? { lrDecay: decay, steps: options.steps } : {}),
  };
  // A round is the checkpoint format's epoch: its steps in fixed order, their losses the batch losses.
  const roundCheckpoint = async (
    roundsDone: number,
    progress?: EpochProgress,
    roundLosses: readonly number[] = [],
  ): Promise<Checkpoint> => ({
    epochsDone: roundsDone,
    ...(progress ? { progress } : {}),
    options: checkpointOptions,
    batchLosses: roundLosses,
    history,
    weights: snapshotWeights(model),
    optimizer: await snapshotAdam(optimizer),
  });
  if (options.resume) {
    if (!options.checkpointDir) throw new Error('resume needs a checkpoint directory');
    const checkpoint = await readCheckpoint(options.checkpointDir);
    checkResumeOptions(options.checkpointDir, checkpoint, checkpointOptions);
    restoreWeights(tf, model, checkpoint.weights);
    await restoreAdam(tf, optimizer, checkpoint.optimizer);
    history = checkpoint.history as DeltaNetRound[];
    step = checkpoint.epochsDone * stepsPerRound + (checkpoint.progress?.step ?? 0);
    resumedRound = checkpoint.progress;
    resumedLosses = checkpoint.batchLosses.slice(0, resumedRound?.step ?? 0);
    log(`resumed from ${options.checkpointDir} after step ${step}`);
  }
  const validation = taskBatch(
    options.task,
    options.validationCount ?? 128,
    options.seed + DELTANET_VALIDATION_SEED_OFFSET,
  );
  let lastLog = now();
  const started = now();
  const secondsBefore = history[history.length - 1]?.seconds ?? 0;
  while (step < options.steps) {
    const roundStart = step - (resumedRound?.step ?? 0);
    const roundEnd = Math.min(options.steps, roundStart + stepsPerRound);
    const score = { correct: resumedRound?.correct ?? 0, scored: resumedRound?.seen ?? 0 };
    let sumLoss = resumedRound?.sumLoss ?? 0;
    let roundSteps = resumedRound?.step ?? 0;
    const roundLosses = [...resumedLosses];
    resumedRound = undefined;
    resumedLosses = [];
    for (; step < roundEnd; step++) {
      const batch: SequenceBatch = taskBatch(options.task, batchSize, stepSeed(options.seed, step));
      // Adam's rate is a plain field in tfjs; the schedule sets it before each step.
      (optimizer as unknown as { learningRate: number }).learningRate = learningRateAt(
        step,
        peak,
        warmup,
        decay,
        options.steps,
      );
      const x = tokenTensor(tf, batch, 0, batch.count);
      // The LM head and the loss only at the scored positions: at Zoology's V = 8192 the head over
      // every position would cost far more than the rest of the step.
      const positions = scoredPositions(batch.labels);
      const labels = positions.map((i) => batch.labels[i]!);
      let predicted: tfTypes.Tensor | undefined;
      const loss = optimizer.minimize(
        () => {
          const logits = positionLogits(model, x, positions, true);
          predicted = tf.keep(tf.argMax(logits, -1));
          return maskedCrossEntropy(tf, logits, labels);
        },
        true,
        trainable,
      );
      const lossValue = loss!.dataSync()[0]!;
      scorePredictions(
        batch,
        0,
        positions,
        (predicted as tfTypes.Tensor | undefined)?.dataSync() ?? [],
        score,
      );
      tf.dispose([loss!, x, ...(predicted ? [predicted] : [])]);
      sumLoss += lossValue;
      roundSteps += 1;
      roundLosses.push(lossValue);
      if (now() - lastLog >= 5000) {
        lastLog = now();
        log(
          `step ${step + 1}/${options.steps} loss ${(sumLoss / roundSteps).toFixed(4)} train acc ${((100 * score.correct) / Math.max(1, score.scored)).toFixed(1)}%`,
        );
      }
      if (step + 1 === roundEnd) continue; // the round-end checkpoint follows
      await nextTurn();
      if (options.shouldStop?.()) {
        step += 1;
        if (options.checkpointDir) {
          const roundLength = roundEnd - roundStart;
          const progress: EpochProgress = {
            order: Array.from({ length: roundLength }, (_, k) => k),
            step: roundSteps,
            sumLoss,
            sumCrossEntropy: sumLoss,
            sumPenalty: 0,
            correct: score.correct,
            seen: score.scored,
          };
          const losses = Array.from({ length: roundLength }, (_, k) => roundLosses[k] ?? Number.NaN);
          await writeCheckpoint(
            options.checkpointDir,
            await roundCheckpoint(roundStart / stepsPerRound, progress, losses),
          );
        }
        optimizer.dispose();
        log(`stopped after step ${step}/${options.steps}`);
        return { model, history, stoppedAt: step };
      }
    }
    const record: DeltaNetRound = {
      round: history.length + 1,
      steps: step,
      loss: sumLoss / Math.max(1, roundSteps),
      trainAccuracy: score.scored === 0 ? 0 : score.correct / score.scored,
      validationAccuracy: sequenceAccuracy(tf, model, validation, batchSize).accuracy,
      seconds: secondsBefore + (now() - started) / 1000,
    };
    history = [...history, record];
    log(
      `step ${step}/${options.steps}: loss ${record.loss.toFixed(4)} train acc ${(100 * record.trainAccuracy).toFixed(1)}% validation acc ${(100 * record.validationAccuracy).toFixed(1)}%`,
    );
    if (options.checkpointDir) {
      await writeCheckpoint(options.checkpointDir, await roundCheckpoint(Math.ceil(step / stepsPerRound)));
    }
  }
  optimizer.dispose();
  return { model, history };
}
