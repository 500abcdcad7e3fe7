import type * as tfTypes from '@tensorflow/tfjs';
import { generateVideoClips, NUM_MOTION_CLASSES, type VideoClipSet } from '../data/video-clips.js';
import { buildDeltaCnn, type DeltaCnnVariant, deltaActivationLayers } from '../models/delta-cnn.js';
import type { TfRuntime } from '../runtime.js';
import { epochBatchOrder, partitionBatches } from './batch-schedule.js';
import { type Checkpoint, type CheckpointTensor, readCheckpoint, writeCheckpoint } from './checkpoint.js';

type Tf = TfRuntime['tf'];

export interface TrainDeltaCnnOptions {
  readonly variant: DeltaCnnVariant;
  readonly seed: number;
  readonly epochs: number;
  /** Training clips (train digit pool, clip seed = seed). */
  readonly clips: number;
  readonly batchSize?: number;
  readonly learningRate?: number;
  readonly frames?: number;
  /** DAL variant: sparsity weight and initial thresholds. */
  readonly spRate?: number;
  readonly thresholdInit?: number;
  readonly inputThresholdInit?: number;
  /** DyBAT's δ: fraction of (hardest) batches trained per epoch after the first; 1 = plain training. */
  readonly hardFraction?: number;
  /** Held-out clips scored after each epoch (a validation seed distinct from evaluation's). */
  readonly validationClips?: number;
  /** Weights to start from (dense → DAL fine-tuning, the paper's refinement phase). */
  readonly initWeightsFrom?: tfTypes.LayersModel;
  /** Directory for the per-epoch checkpoint; with `resume`, training continues from it. */
  readonly checkpointDir?: string;
  readonly resume?: boolean;
  /** Progress lines (stderr in the CLI). */
  readonly log?: (line: string) => void;
  /** Clock for progress pacing (injected so tests need no real time). */
  readonly now?: () => number;
}

export interface EpochRecord {
  readonly [key: string]: number;
  readonly epoch: number;
  readonly loss: number;
  readonly crossEntropy: number;
  readonly penalty: number;
  readonly trainAccuracy: number;
  readonly validationAccuracy: number;
  readonly meanTheta: number;
}

export interface TrainResult {
  readonly model: tfTypes.LayersModel;
  readonly history: readonly EpochRecord[];
  /** Last loss of every batch of the fixed partition (NaN if never trained). */
  readonly batchLosses: readonly number[];
  readonly batches: number;
}

/** Seed offset of the per-epoch validation clips, so they never coincide with eval's held-out set. */
export const VALIDATION_SEED_OFFSET = 7919;

/** Clips [i…] of a set as a [n, T, H, W, 1] tensor and their one-hot labels. */
export function clipBatch(tf: Tf, set: VideoClipSet, indices: readonly number[]) {
  const clipSize = set.frames * set.size * set.size;
  const pixels = new Float32Array(indices.length * clipSize);
  const labels = new Int32Array(indices.length);
  indices.forEach((clip, i) => {
    pixels.set(set.pixels.subarray(clip * clipSize, (clip + 1) * clipSize), i * clipSize);
    labels[i] = set.labels[clip]!;
  });
  const x = tf.tensor5d(pixels, [indices.length, set.frames, set.size, set.size, 1]);
  // oneHot with a float dtype is wrong on wasm 4.22 (REFERENCE §3): build int32, cast afterwards.
  const y = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), NUM_MOTION_CLASSES), 'float32'));
  return { x, y, labels };
}

/** Accuracy of `model` on a clip set, in batches. */
export function accuracyOn(tf: Tf, model: tfTypes.LayersModel, set: VideoClipSet, batchSize = 32): number {
  let correct = 0;
  for (let start = 0; start < set.count; start += batchSize) {
    const indices = Array.from({ length: Math.min(batchSize, set.count - start) }, (_, i) => start + i);
    const { x, y, labels } = clipBatch(tf, set, indices);
    const predicted = tf.tidy(() => tf.argMax(model.predict(x) as tfTypes.Tensor, 1).dataSync());
    x.dispose();
    y.dispose();
    predicted.forEach((p, i) => {
      if (p === labels[i]) correct += 1;
    });
  }
  return set.count === 0 ? 0 : correct / set.count;
}

function modelOptions(o: TrainDeltaCnnOptions) {
  return {
    variant: o.variant,
    seed: o.seed,
    frames: o.frames,
    spRate: o.spRate,
    thresholdInit: o.thresholdInit,
    inputThresholdInit: o.inputThresholdInit,
  };
}

/**
 * The training loop: Adam on CE(time-averaged logits) + Σ DAL penalties, fixed batch partition with
 * per-batch loss bookkeeping, a checkpoint after every epoch, deterministic given the seed.
 */
export async function trainDeltaCnn(runtime: TfRuntime, options: TrainDeltaCnnOptions): Promise<TrainResult> {
  const { tf } = runtime;
  const log = options.log ?? (() => {});
  const now = options.now ?? (() => 0);
  const batchSize = options.batchSize ?? 16;
  const hardFraction = options.hardFraction ?? 1;
  const frames = options.frames ?? 8;
  const model = buildDeltaCnn(modelOptions(options));
  const dals = deltaActivationLayers(model);
  const optimizer = tf.train.adam(options.learningRate ?? 1e-3);
  // Explicit: without a list, minimize differentiates every trainable variable in the process.
  const trainable = model.trainableWeights.map((w) => w.read() as tfTypes.Variable);
  const batches = partitionBatches(options.clips, batchSize, options.seed);
  let batchLosses: number[] = batches.map(() => Number.NaN);
  let history: EpochRecord[] = [];
  let startEpoch = 0;

  if (options.initWeightsFrom) {
    for (const layer of options.initWeightsFrom.layers) {
      const weights = layer.getWeights();
      if (weights.length > 0) model.getLayer(layer.name).setWeights(weights);
    }
  }
  if (options.resume) {
    if (!options.checkpointDir) throw new Error('resume needs a checkpoint directory');
    const checkpoint = await readCheckpoint(options.checkpointDir);
    restoreWeights(tf, model, checkpoint.weights);
    if (checkpoint.optimizer.length > 0) {
      await optimizer.setWeights(
        checkpoint.optimizer.map((t) => ({ name: t.name, tensor: tf.tensor(t.values, [...t.shape]) })),
      );
    }
    batchLosses = [...checkpoint.batchLosses];
    history = checkpoint.history as EpochRecord[];
    startEpoch = checkpoint.epochsDone;
    log(`resumed from ${options.checkpointDir} after epoch ${startEpoch}`);
  }

  const train = generateVideoClips({ seed: options.seed, count: options.clips, split: 'train', frames });
  const validation = generateVideoClips({
    seed: options.seed + VALIDATION_SEED_OFFSET,
    count: options.validationClips ?? 100,
    split: 'heldout',
    frames,
  });

  for (let epoch = startEpoch; epoch < options.epochs; epoch++) {
    const order = epochBatchOrder(batchLosses, epoch === 0 ? 1 : hardFraction, options.seed, epoch);
    let sumLoss = 0;
    let sumCe = 0;
    let sumPenalty = 0;
    let correct = 0;
    let seen = 0;
    let lastLog = now();
    for (const [step, b] of order.entries()) {
      const indices = batches[b]!;
      const { x, y, labels } = clipBatch(tf, train, indices);
      let ce: tfTypes.Scalar | undefined;
      let penalty: tfTypes.Scalar | undefined;
      let predicted: tfTypes.Tensor | undefined;
      const total = optimizer.minimize(
        () => {
          const logits = model.apply(x, { training: true }) as tfTypes.Tensor;
          const crossEntropy = tf.losses.softmaxCrossEntropy(y, logits) as tfTypes.Scalar;
          let pen = tf.scalar(0);
          for (const dal of dals) {
            if (dal.pendingPenalty) pen = tf.add(pen, dal.pendingPenalty);
          }
          ce = tf.keep(crossEntropy);
          penalty = tf.keep(pen);
          predicted = tf.keep(tf.argMax(logits, 1));
          return tf.add(crossEntropy, pen) as tfTypes.Scalar;
        },
        true,
        trainable,
      );
      for (const dal of dals) {
        dal.pendingPenalty?.dispose();
        dal.pendingPenalty = undefined;
      }
      const lossValue = total!.dataSync()[0]!;
      const ceValue = (ce as tfTypes.Scalar | undefined)?.dataSync()[0] ?? Number.NaN;
      const penaltyValue = (penalty as tfTypes.Scalar | undefined)?.dataSync()[0] ?? 0;
      const p = (predicted as tfTypes.Tensor | undefined)?.dataSync() ?? new Int32Array();
      p.forEach((v, i) => {
        if (v === labels[i]) correct += 1;
      });
      tf.dispose([total!, x, y, ce, penalty, predicted].filter((t) => t !== undefined) as tfTypes.Tensor[]);
      batchLosses[b] = lossValue;
      sumLoss += lossValue * indices.length;
      sumCe += ceValue * indices.length;
      sumPenalty += penaltyValue * indices.length;
      seen += indices.length;
      if (now() - lastLog >= 5000) {
        lastLog = now();
        log(
          `epoch ${epoch + 1}/${options.epochs} batch ${step + 1}/${order.length} loss ${(sumLoss / seen).toFixed(4)} (ce ${(sumCe / seen).toFixed(4)}, penalty ${(sumPenalty / seen).toFixed(4)})`,
        );
      }
    }
    const meanTheta = dals.length === 0 ? 0 : mean(dals.map((d) => mean(d.thetaValues())));
    const record: EpochRecord = {
      epoch: epoch + 1,
      loss: sumLoss / seen,
      crossEntropy: sumCe / seen,
      penalty: sumPenalty / seen,
      trainAccuracy: correct / seen,
      validationAccuracy: accuracyOn(tf, model, validation),
      meanTheta,
    };
    history = [...history, record];
    log(
      `epoch ${record.epoch}/${options.epochs} done: loss ${record.loss.toFixed(4)} ce ${record.crossEntropy.toFixed(4)} penalty ${record.penalty.toFixed(4)} train acc ${(100 * record.trainAccuracy).toFixed(1)}% validation acc ${(100 * record.validationAccuracy).toFixed(1)}%${dals.length ? ` mean θ ${meanTheta.toFixed(4)}` : ''}`,
    );
    if (options.checkpointDir) {
      const checkpoint: Checkpoint = {
        epochsDone: epoch + 1,
        options: { ...modelOptions(options), clips: options.clips, batchSize, hardFraction },
        batchLosses,
        history,
        weights: snapshotWeights(model),
        optimizer: await snapshotOptimizer(optimizer),
      };
      await writeCheckpoint(options.checkpointDir, checkpoint);
    }
  }
  optimizer.dispose();
  return { model, history, batchLosses, batches: batches.length };
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
}

export function snapshotWeights(model: tfTypes.LayersModel): CheckpointTensor[] {
  return model.weights.map((w) => ({
    name: w.originalName,
    shape: w.shape as number[],
    values: w.read().dataSync() as Float32Array,
  }));
}

export async function snapshotOptimizer(optimizer: tfTypes.Optimizer): Promise<CheckpointTensor[]> {
  const named = await optimizer.getWeights();
  return named.map((n) => ({
    name: n.name,
    shape: n.tensor.shape,
    values: Float32Array.from(n.tensor.dataSync()),
  }));
}

export function restoreWeights(
  tf: Tf,
  model: tfTypes.LayersModel,
  weights: readonly CheckpointTensor[],
): void {
  const byName = new Map(weights.map((w) => [w.name, w]));
  const tensors = model.weights.map((w) => {
    const saved = byName.get(w.originalName);
    if (!saved) throw new Error(`checkpoint has no weight ${w.originalName}`);
    return tf.tensor(saved.values, [...saved.shape]);
  });
  model.setWeights(tensors);
  tf.dispose(tensors);
}
