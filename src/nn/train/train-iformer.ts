import type * as tfTypes from '@tensorflow/tfjs';
import { createPrng } from '../../common/prng.js';
import { type ImageDatasetName, imageDataset } from '../data/image-datasets.js';
import type { ImageSet } from '../data/mnist-digits.js';
import { buildIFormer } from '../models/iformer.js';
import type { ActivationKind, IFormerVariantName, MixerKind } from '../models/iformer-config.js';
import type { TfRuntime } from '../runtime.js';
import { snapshotAdam } from './adam-state.js';
import { epochBatchOrder, epochSeed, partitionBatches } from './batch-schedule.js';
import { type Checkpoint, writeCheckpoint } from './checkpoint.js';
import { nextTurn, restoreCheckpoint, snapshotWeights } from './train-loop.js';

type Tf = TfRuntime['tf'];

export interface TrainIFormerOptions {
  readonly data: ImageDatasetName;
  readonly mixer: MixerKind;
  readonly activation: ActivationKind;
  readonly variant?: IFormerVariantName;
  /** Seeds the split (MNIST) or the images (shapes), the initialisers, batches and augmentation. */
  readonly seed: number;
  readonly epochs: number;
  readonly batchSize?: number;
  /** Peak Adam learning rate (linear warm-up over the first epoch, cosine decay to 5 % after). */
  readonly learningRate?: number;
  /** Shapes training images. */
  readonly trainExamples?: number;
  /** Validation images scored after each epoch (at most the dataset's validation set). */
  readonly validationExamples?: number;
  /** Largest random shift (pixels, each axis) applied to training images; 0 = none. */
  readonly maxShift?: number;
  readonly checkpointDir?: string;
  readonly resume?: boolean;
  readonly log?: (line: string) => void;
  readonly now?: () => number;
}

export interface IFormerEpochRecord {
  readonly [key: string]: number;
  readonly epoch: number;
  readonly loss: number;
  readonly trainAccuracy: number;
  readonly validationAccuracy: number;
  readonly learningRate: number;
}

export interface TrainIFormerResult {
  readonly model: tfTypes.LayersModel;
  readonly history: readonly IFormerEpochRecord[];
  readonly steps: number;
  readonly trainExamples: number;
}

/** Shift augmentation defaults: MNIST digits move by up to 2 px; shapes are already placed at random. */
export function defaultMaxShift(data: ImageDatasetName): number {
  return data === 'mnist' ? 2 : 0;
}

/**
 * Images [i…] of a set as [n, size, size, 1] with one-hot labels. With `shift`, each image moves by
 * a random whole-pixel offset in [−max, max]² (zero fill), drawn from the given PRNG.
 */
export function imageBatch(
  tf: Tf,
  set: ImageSet,
  indices: readonly number[],
  shift?: { readonly max: number; readonly prng: ReturnType<typeof createPrng> },
) {
  const size = set.size;
  const per = size * size;
  const pixels = new Float32Array(indices.length * per);
  const labels = new Int32Array(indices.length);
  indices.forEach((example, i) => {
    const source = set.pixels.subarray(example * per, (example + 1) * per);
    labels[i] = set.labels[example]!;
    const dx = shift && shift.max > 0 ? shift.prng.int(2 * shift.max + 1) - shift.max : 0;
    const dy = shift && shift.max > 0 ? shift.prng.int(2 * shift.max + 1) - shift.max : 0;
    if (dx === 0 && dy === 0) {
      pixels.set(source, i * per);
      return;
    }
    for (let y = 0; y < size; y++) {
      const sy = y - dy;
      if (sy < 0 || sy >= size) continue;
      for (let x = 0; x < size; x++) {
        const sx = x - dx;
        if (sx >= 0 && sx < size) pixels[i * per + y * size + x] = source[sy * size + sx]!;
      }
    }
  });
  const x = tf.tensor4d(pixels, [indices.length, size, size, 1]);
  // oneHot with a float dtype is wrong on wasm 4.22: build int32, cast afterwards.
  const y = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), set.classes), 'float32'));
  return { x, y, labels };
}

/** Accuracy of an image classifier on a set, in batches. */
export function imageAccuracy(tf: Tf, model: tfTypes.LayersModel, set: ImageSet, batchSize = 100): number {
  let correct = 0;
  for (let start = 0; start < set.count; start += batchSize) {
    const indices = Array.from({ length: Math.min(batchSize, set.count - start) }, (_, i) => start + i);
    const { x, y, labels } = imageBatch(tf, set, indices);
    const predicted = tf.tidy(() => tf.argMax(model.predict(x) as tfTypes.Tensor, 1).dataSync());
    tf.dispose([x, y]);
    predicted.forEach((p, i) => {
      if (p === labels[i]) correct += 1;
    });
  }
  return set.count === 0 ? 0 : correct / set.count;
}

function firstExamples(set: ImageSet, count: number | undefined): ImageSet {
  if (count === undefined || count >= set.count) return set;
  return {
    ...set,
    pixels: set.pixels.subarray(0, count * set.size * set.size),
    labels: set.labels.subarray(0, count),
    count,
  };
}

/** Learning rate at a step: linear warm-up over `warmup` steps, then cosine decay to 5 % of the peak. */
export function learningRateAt(peak: number, step: number, warmup: number, total: number): number {
  if (step < warmup) return (peak * (step + 1)) / warmup;
  const progress = total > warmup ? (step - warmup) / (total - warmup) : 1;
  return peak * (0.05 + 0.95 * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, progress))));
}

/** Adam keeps its rate in a protected field that it reads on every update; the schedule sets it. */
function setLearningRate(optimizer: tfTypes.Optimizer, rate: number): void {
  (optimizer as unknown as { learningRate: number }).learningRate = rate;
}

/**
 * Trains an iFormer classifier: Adam on softmax cross-entropy, warm-up + cosine schedule, a fixed
 * batch partition visited in a seeded order each epoch, shift augmentation, a checkpoint after every
 * epoch (the delta-cnn checkpoint format); deterministic given the seed.
 */
export async function trainIFormer(
  runtime: TfRuntime,
  options: TrainIFormerOptions,
): Promise<TrainIFormerResult> {
  const { tf } = runtime;
  const log = options.log ?? (() => {});
  const now = options.now ?? (() => 0);
  const batchSize = options.batchSize ?? 64;
  const peak = options.learningRate ?? 2e-3;
  const maxShift = options.maxShift ?? defaultMaxShift(options.data);
  const train = imageDataset({
    name: options.data,
    role: 'train',
    seed: options.seed,
    trainExamples: options.trainExamples,
  });
  const validation = firstExamples(
    imageDataset({ name: options.data, role: 'validation', seed: options.seed }),
    options.validationExamples,
  );
  const model = buildIFormer({
    variant: options.variant,
    mixer: options.mixer,
    activation: options.activation,
    classes: train.classes,
    seed: options.seed,
  });
  const optimizer = tf.train.adam(peak);
  const trainable = model.trainableWeights.map((w) => w.read() as tfTypes.Variable);
  const batches = partitionBatches(train.count, batchSize, options.seed);
  const totalSteps = options.epochs * batches.length;
  let batchLosses: number[] = batches.map(() => Number.NaN);
  let history: IFormerEpochRecord[] = [];
  let startEpoch = 0;
  if (options.resume) {
    if (!options.checkpointDir) throw new Error('resume needs a checkpoint directory');
    const checkpoint = await restoreCheckpoint(tf, model, optimizer, options.checkpointDir);
    batchLosses = [...checkpoint.batchLosses];
    history = checkpoint.history as IFormerEpochRecord[];
    startEpoch = checkpoint.epochsDone;
    log(`resumed from ${options.checkpointDir} after epoch ${startEpoch}`);
  }
  log(
    `iformer (${options.mixer}, ${options.activation}): ${model.countParams()} weights, ${train.count} ${options.data} training images, ${batches.length} batches of ${batchSize}`,
  );
  for (let epoch = startEpoch; epoch < options.epochs; epoch++) {
    const order = epochBatchOrder(batchLosses, 1, options.seed, epoch);
    const shiftPrng = createPrng(epochSeed(options.seed ^ 0x3c6ef372, epoch));
    let sumLoss = 0;
    let correct = 0;
    let seen = 0;
    let lastLog = now();
    let rate = peak;
    for (const [step, b] of order.entries()) {
      rate = learningRateAt(peak, epoch * batches.length + step, batches.length, totalSteps);
      setLearningRate(optimizer, rate);
      const indices = batches[b]!;
      const { x, y, labels } = imageBatch(tf, train, indices, { max: maxShift, prng: shiftPrng });
      let predicted: tfTypes.Tensor | undefined;
      const loss = optimizer.minimize(
        () => {
          const logits = model.apply(x, { training: true }) as tfTypes.Tensor;
          predicted = tf.keep(tf.argMax(logits, 1));
          return tf.losses.softmaxCrossEntropy(y, logits) as tfTypes.Scalar;
        },
        true,
        trainable,
      )!;
      const lossValue = loss.dataSync()[0]!;
      (predicted as tfTypes.Tensor | undefined)?.dataSync().forEach((p, i) => {
        if (p === labels[i]) correct += 1;
      });
      tf.dispose([loss, x, y, ...(predicted ? [predicted] : [])]);
      batchLosses[b] = lossValue;
      sumLoss += lossValue * indices.length;
      seen += indices.length;
      if (now() - lastLog >= 10_000) {
        lastLog = now();
        log(
          `epoch ${epoch + 1}/${options.epochs} batch ${step + 1}/${order.length} loss ${(sumLoss / seen).toFixed(4)} train acc ${((100 * correct) / seen).toFixed(1)}% lr ${rate.toExponential(2)}`,
        );
      }
      // A signal (Ctrl-C, SIGTERM) is handled between batches, not only at the end of an epoch.
      await nextTurn();
    }
    const record: IFormerEpochRecord = {
      epoch: epoch + 1,
      loss: sumLoss / seen,
      trainAccuracy: correct / seen,
      validationAccuracy: imageAccuracy(tf, model, validation),
      learningRate: rate,
    };
    history = [...history, record];
    log(
      `epoch ${record.epoch}/${options.epochs} done: loss ${record.loss.toFixed(4)} train acc ${(100 * record.trainAccuracy).toFixed(2)}% validation acc ${(100 * record.validationAccuracy).toFixed(2)}%`,
    );
    if (options.checkpointDir) {
      const checkpoint: Checkpoint = {
        epochsDone: epoch + 1,
        options: {
          data: options.data,
          mixer: options.mixer,
          activation: options.activation,
          variant: options.variant ?? 'mini',
          seed: options.seed,
          batchSize,
          learningRate: peak,
          maxShift,
          trainExamples: train.count,
        },
        batchLosses,
        history,
        weights: snapshotWeights(model),
        optimizer: await snapshotAdam(optimizer),
      };
      await writeCheckpoint(options.checkpointDir, checkpoint);
    }
  }
  optimizer.dispose();
  return { model, history, steps: totalSteps, trainExamples: train.count };
}
