import type * as tfTypes from '@tensorflow/tfjs';
import { generateVideoClips, NUM_MOTION_CLASSES, type VideoClipSet } from '../data/video-clips.js';
import type { DeltaActivation } from '../layers/delta-activation.js';
import { buildDeltaCnn, type DeltaCnnVariant, deltaActivationLayers } from '../models/delta-cnn.js';
import type { TfRuntime } from '../runtime.js';
import { restoreAdam, snapshotAdam } from './adam-state.js';
import { epochBatchOrder, partitionBatches } from './batch-schedule.js';
import {
  type Checkpoint,
  type CheckpointTensor,
  checkResumeOptions,
  type EpochProgress,
  readCheckpoint,
  writeCheckpoint,
} from './checkpoint.js';

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
  /**
   * Another video model to train in place of the delta-cnn of `variant` (iFormer's video mode), with
   * every Delta Activation Layer whose penalty joins the loss (also ones nested inside layers).
   */
  readonly model?: {
    readonly build: () => tfTypes.LayersModel;
    readonly deltaActivations: (model: tfTypes.LayersModel) => DeltaActivation[];
  };
  /** Directory for the per-epoch checkpoint; with `resume`, training continues from it. */
  readonly checkpointDir?: string;
  readonly resume?: boolean;
  /** Also checkpoint after every this many batches inside an epoch (0: only at epoch ends). */
  readonly checkpointEveryBatches?: number;
  /**
   * Asked after every batch: true stops training there, after a checkpoint (the CLI wires it to
   * SIGINT/SIGTERM). Training yields to the event loop between batches so a signal is seen.
   */
  readonly shouldStop?: () => boolean;
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
  /** Set when `shouldStop` ended training early: the position saved in the checkpoint. */
  readonly stoppedAt?: { readonly epoch: number; readonly batch: number };
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
  // oneHot with a float dtype is wrong on wasm 4.22 (docs/tfjs-runtime.md, "Pitfalls"): build int32, cast afterwards.
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

/** The options a checkpoint must share with the run that resumes it. */
function resumeOptions(o: TrainDeltaCnnOptions, batchSize: number, hardFraction: number) {
  return {
    ...modelOptions(o),
    clips: o.clips,
    batchSize,
    hardFraction,
    learningRate: o.learningRate ?? 1e-3,
    validationClips: o.validationClips ?? 100,
  };
}

/** Lets the event loop turn, so a Ctrl-C / SIGTERM handler can raise a stop request mid-run. */
export const nextTurn = (): Promise<void> => new Promise((done) => setImmediate(done));

/**
 * The training loop: Adam on CE(time-averaged logits) + Σ DAL penalties, fixed batch partition with
 * per-batch loss bookkeeping, a checkpoint after every epoch (and every `checkpointEveryBatches`
 * batches, and when `shouldStop` says so), deterministic given the seed. Resuming from any of these
 * checkpoints gives the same weights, bit for bit, as a run that never stopped.
 */
export async function trainDeltaCnn(runtime: TfRuntime, options: TrainDeltaCnnOptions): Promise<TrainResult> {
  const { tf } = runtime;
  const log = options.log ?? (() => {});
  const now = options.now ?? (() => 0);
  const batchSize = options.batchSize ?? 16;
  const hardFraction = options.hardFraction ?? 1;
  const frames = options.frames ?? 8;
  const checkpointEvery = options.checkpointEveryBatches ?? 0;
  const model = options.model ? options.model.build() : buildDeltaCnn(modelOptions(options));
  const dals = options.model ? options.model.deltaActivations(model) : deltaActivationLayers(model);
  const optimizer = tf.train.adam(options.learningRate ?? 1e-3);
  // Explicit: without a list, minimize differentiates every trainable variable in the process.
  const trainable = model.trainableWeights.map((w) => w.read() as tfTypes.Variable);
  const batches = partitionBatches(options.clips, batchSize, options.seed);
  let batchLosses: number[] = batches.map(() => Number.NaN);
  let history: EpochRecord[] = [];
  let startEpoch = 0;
  let resumedProgress: EpochProgress | undefined;

  if (options.initWeightsFrom) {
    for (const layer of options.initWeightsFrom.layers) {
      const weights = layer.getWeights();
      if (weights.length > 0) model.getLayer(layer.name).setWeights(weights);
    }
  }
  if (options.resume) {
    if (!options.checkpointDir) throw new Error('resume needs a checkpoint directory');
    const checkpoint = await readCheckpoint(options.checkpointDir);
    checkResumeOptions(options.checkpointDir, checkpoint, resumeOptions(options, batchSize, hardFraction));
    restoreWeights(tf, model, checkpoint.weights);
    await restoreAdam(tf, optimizer, checkpoint.optimizer);
    batchLosses = [...checkpoint.batchLosses];
    history = checkpoint.history as EpochRecord[];
    startEpoch = checkpoint.epochsDone;
    resumedProgress = checkpoint.progress;
    log(
      `resumed from ${options.checkpointDir} after epoch ${startEpoch}${resumedProgress ? ` and ${resumedProgress.step} batches of epoch ${startEpoch + 1}` : ''}`,
    );
  }

  const train = generateVideoClips({ seed: options.seed, count: options.clips, split: 'train', frames });
  const validation = generateVideoClips({
    seed: options.seed + VALIDATION_SEED_OFFSET,
    count: options.validationClips ?? 100,
    split: 'heldout',
    frames,
  });
  const checkpoint = async (epochsDone: number, progress?: EpochProgress): Promise<void> => {
    if (!options.checkpointDir) return;
    await writeCheckpoint(options.checkpointDir, {
      epochsDone,
      ...(progress ? { progress } : {}),
      options: resumeOptions(options, batchSize, hardFraction),
      batchLosses,
      history,
      weights: snapshotWeights(model),
      optimizer: await snapshotAdam(optimizer),
    });
  };
  const stopRequested = options.shouldStop ?? (() => false);

  for (let epoch = startEpoch; epoch < options.epochs; epoch++) {
    const resumed = epoch === startEpoch ? resumedProgress : undefined;
    const order = resumed
      ? [...resumed.order]
      : epochBatchOrder(batchLosses, epoch === 0 ? 1 : hardFraction, options.seed, epoch);
    let sumLoss = resumed?.sumLoss ?? 0;
    let sumCe = resumed?.sumCrossEntropy ?? 0;
    let sumPenalty = resumed?.sumPenalty ?? 0;
    let correct = resumed?.correct ?? 0;
    let seen = resumed?.seen ?? 0;
    let lastLog = now();
    for (let step = resumed?.step ?? 0; step < order.length; step++) {
      const b = order[step]!;
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
      const done = step + 1;
      if (done === order.length) break; // the epoch-end checkpoint follows
      await nextTurn();
      const stopping = stopRequested();
      if (stopping || (checkpointEvery > 0 && done % checkpointEvery === 0)) {
        const progress = { order, step: done, sumLoss, sumCrossEntropy: sumCe, sumPenalty, correct, seen };
        await checkpoint(epoch, progress);
      }
      if (stopping) {
        optimizer.dispose();
        log(`stopped after batch ${done}/${order.length} of epoch ${epoch + 1}`);
        return { model, history, batchLosses, batches: batches.length, stoppedAt: { epoch, batch: done } };
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
    await checkpoint(epoch + 1);
    await nextTurn();
    if (stopRequested() && epoch + 1 < options.epochs) {
      optimizer.dispose();
      log(`stopped after epoch ${epoch + 1}`);
      return {
        model,
        history,
        batchLosses,
        batches: batches.length,
        stoppedAt: { epoch: epoch + 1, batch: 0 },
      };
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

/** Reads the checkpoint in `dir` and puts its weights and Adam state (β powers included) back. */
export async function restoreCheckpoint(
  tf: Tf,
  model: tfTypes.LayersModel,
  optimizer: tfTypes.Optimizer,
  dir: string,
): Promise<Checkpoint> {
  const checkpoint = await readCheckpoint(dir);
  restoreWeights(tf, model, checkpoint.weights);
  await restoreAdam(tf, optimizer, checkpoint.optimizer);
  return checkpoint;
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
