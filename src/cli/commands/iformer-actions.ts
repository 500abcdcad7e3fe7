import { basename, join, relative, resolve } from 'node:path';
import { UsageError } from '../../common/input-error.js';
import { IMAGE_DATASETS, type ImageDatasetName } from '../../nn/data/image-datasets.js';
import {
  ACTIVATION_KINDS,
  type ActivationKind,
  IFORMER_VARIANTS,
  type IFormerVariantName,
  MIXER_KINDS,
  type MixerKind,
} from '../../nn/models/iformer-config.js';
import type { ValueDtype } from '../../trace/writer.js';
import type { CliIo } from '../io.js';
import { type BackendChoice, backendFlag, choiceFlag, intFlag, numberFlag, seedFlag } from '../nn-flags.js';
import { SIZE_LIMITS } from '../size-limits.js';
import {
  lastTrainingMetrics,
  prepareTrainOutput,
  removeTrainCheckpoint,
  throwIfInterrupted,
} from '../train-output.js';

// Tfjs-free imports only at the top: the flags are checked before a backend starts.

/** Default epochs per dataset (the bundled MNIST model had fewer: docs/iformer.md says why). */
export const IFORMER_DEFAULT_EPOCHS: Readonly<Record<ImageDatasetName, number>> = { mnist: 6, shapes: 6 };
export const IFORMER_DEFAULT_MODEL = join('models', 'iformer-mnist');

/** The commander options of `train` an iFormer run reads, as strings (undefined: not given). */
export interface IFormerTrainFlags {
  readonly data?: string;
  readonly mixer?: string;
  readonly activation?: string;
  readonly arch?: string;
  readonly seed?: string;
  readonly epochs?: string;
  readonly batchSize?: string;
  readonly lr?: string;
  readonly examples?: string;
  readonly out?: string;
  readonly resume?: boolean;
  readonly backend?: string;
  readonly force?: boolean;
  /** Video mode (`--data video`) only. */
  readonly clips?: string;
  readonly spRate?: string;
  readonly thresholdInit?: string;
  readonly inputThresholdInit?: string;
  readonly validationClips?: string;
  /** Video mode: start from this saved video model (the DAL fine-tune at a higher sp_rate). */
  readonly init?: string;
}

/** `--data video`: the model per frame on the synthetic action clips, with Delta Activation Layers. */
export const IFORMER_VIDEO_DATA = 'video';
/** Held-out clips the video model's card accuracy is measured on (seed = the training seed). */
export const IFORMER_VIDEO_HELDOUT_CLIPS = 200;

interface IFormerTrainSettings {
  readonly data: ImageDatasetName;
  readonly mixer: MixerKind;
  readonly activation: ActivationKind;
  readonly arch: IFormerVariantName;
  readonly seed: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  /** Training images: shapes generates this many; MNIST takes its whole split unless given. */
  readonly examples: number | undefined;
  readonly out: string;
  readonly resume: boolean;
  readonly prefer: BackendChoice;
}

/** Default output directory: models/iformer-<data>, plus the mixer and activation when not default. */
export function defaultIFormerOut(data: string, mixer: string, activation: string): string {
  const parts = [
    'iformer',
    data,
    ...(mixer !== 'inception' ? [mixer] : []),
    ...(activation !== 'gelu' ? [activation] : []),
  ];
  return join('models', parts.join('-'));
}

export function parseIFormerTrainFlags(flags: IFormerTrainFlags): IFormerTrainSettings {
  if (flags.data === undefined)
    throw new UsageError(
      '--data',
      '',
      `is required for iformer (${[...IMAGE_DATASETS, IFORMER_VIDEO_DATA].join(', ')})`,
    );
  const data = choiceFlag('--data', flags.data, IMAGE_DATASETS, 'mnist');
  const mixer = choiceFlag('--mixer', flags.mixer, MIXER_KINDS, 'inception');
  const activation = choiceFlag('--activation', flags.activation, ACTIVATION_KINDS, 'gelu');
  const arch = choiceFlag(
    '--arch',
    flags.arch,
    Object.keys(IFORMER_VARIANTS) as IFormerVariantName[],
    'mini',
  );
  return {
    data,
    mixer,
    activation,
    arch,
    seed: seedFlag('--seed', flags.seed, 1),
    epochs: intFlag('--epochs', flags.epochs, IFORMER_DEFAULT_EPOCHS[data], 1, SIZE_LIMITS.epochs),
    batchSize: intFlag('--batch-size', flags.batchSize, 64, 1, SIZE_LIMITS.batchSize),
    learningRate: numberFlag('--lr', flags.lr, 2e-3, 0),
    examples:
      data === 'shapes' || flags.examples !== undefined
        ? intFlag('--examples', flags.examples, 6000, 1, SIZE_LIMITS.images)
        : undefined,
    out: flags.out ?? defaultIFormerOut(data, mixer, activation),
    resume: Boolean(flags.resume),
    prefer: backendFlag(flags.backend),
  };
}

interface IFormerVideoSettings {
  readonly mixer: MixerKind;
  readonly activation: ActivationKind;
  readonly arch: IFormerVariantName;
  readonly seed: number;
  readonly epochs: number;
  readonly clips: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly spRate: number;
  readonly thresholdInit: number;
  readonly inputThresholdInit: number;
  readonly validationClips: number;
  readonly init: string | undefined;
  readonly out: string;
  readonly resume: boolean;
  readonly prefer: BackendChoice;
}

/** Video-mode flags: the delta-cnn training flags (clips, DAL settings) plus the iFormer's own. */
export function parseIFormerVideoFlags(flags: IFormerTrainFlags): IFormerVideoSettings {
  const mixer = choiceFlag('--mixer', flags.mixer, MIXER_KINDS, 'inception');
  const activation = choiceFlag('--activation', flags.activation, ACTIVATION_KINDS, 'gelu');
  return {
    mixer,
    activation,
    arch: choiceFlag('--arch', flags.arch, Object.keys(IFORMER_VARIANTS) as IFormerVariantName[], 'mini'),
    seed: seedFlag('--seed', flags.seed, 1),
    epochs: intFlag('--epochs', flags.epochs, 4, 1, SIZE_LIMITS.epochs),
    clips: intFlag('--clips', flags.clips, 800, 1, SIZE_LIMITS.clips),
    batchSize: intFlag('--batch-size', flags.batchSize, 8, 1, SIZE_LIMITS.batchSize),
    learningRate: numberFlag('--lr', flags.lr, 2e-3, 0),
    spRate: numberFlag('--sp-rate', flags.spRate, 2e-4, 0),
    thresholdInit: numberFlag('--threshold-init', flags.thresholdInit, 0.05, 1e-6),
    inputThresholdInit: numberFlag('--input-threshold-init', flags.inputThresholdInit, 0.1, 1e-6),
    validationClips: intFlag('--validation-clips', flags.validationClips, 100, 0, SIZE_LIMITS.clips),
    init: flags.init,
    out: flags.out ?? defaultIFormerOut(IFORMER_VIDEO_DATA, mixer, activation),
    resume: Boolean(flags.resume),
    prefer: backendFlag(flags.backend),
  };
}

/**
 * `deltasim train iformer --data video …`: the iFormer per frame on the action clips with DALs,
 * trained by the delta-cnn loop (cross-entropy on time-averaged logits + every DAL's penalty).
 */
async function trainIFormerVideo(io: CliIo, flags: IFormerTrainFlags): Promise<void> {
  const o = parseIFormerVideoFlags(flags);
  const { loadTf } = await import('../../nn/runtime.js');
  const { loadModel, saveModel } = await import('../../nn/model-io.js');
  const { trainDeltaCnn, accuracyOn } = await import('../../nn/train/train-loop.js');
  const { buildIFormer, iformerDeltaActivations, resolvedVariant } = await import(
    '../../nn/models/iformer.js'
  );
  const { attentionShares, iformerVideoMacs } = await import('../../nn/models/iformer-config.js');
  const { DEFAULT_FRAMES, DEFAULT_NOISE_STD, DEFAULT_SIZE, NUM_MOTION_CLASSES, generateVideoClips } =
    await import('../../nn/data/video-clips.js');
  const { stopRequested, withGracefulStop } = await import('../../common/shutdown.js');
  const log = (line: string): void => {
    io.stderr.write(`${line}\n`);
  };
  const runtime = await loadTf({ prefer: o.prefer, verbose: log });
  // Checked before the output directory is touched: a bad --init leaves nothing behind.
  const initial = o.init !== undefined ? await loadModel(runtime, resolve(io.cwd, o.init)) : undefined;
  if (initial && (initial.card.family !== 'iformer' || initial.card.data.dataset !== IFORMER_VIDEO_DATA))
    throw new UsageError('--init', o.init!, 'is not an iformer video model (card.json family/data.dataset)');
  const initWeightsFrom = initial?.model;
  const outDir = resolve(io.cwd, o.out);
  await prepareTrainOutput(io, outDir, { resume: o.resume, force: flags.force === true });
  const video = {
    frames: DEFAULT_FRAMES,
    thresholdInit: o.thresholdInit,
    inputThresholdInit: o.inputThresholdInit,
    spRate: o.spRate,
    frameDifference: true,
  };
  const build = () =>
    buildIFormer({
      variant: o.arch,
      mixer: o.mixer,
      activation: o.activation,
      classes: NUM_MOTION_CLASSES,
      seed: o.seed,
      video,
    });
  const started = Date.now();
  const result = await withGracefulStop(() =>
    trainDeltaCnn(runtime, {
      ...(initWeightsFrom ? { initWeightsFrom } : {}),
      variant: 'dal',
      seed: o.seed,
      epochs: o.epochs,
      clips: o.clips,
      batchSize: o.batchSize,
      learningRate: o.learningRate,
      frames: DEFAULT_FRAMES,
      spRate: o.spRate,
      thresholdInit: o.thresholdInit,
      inputThresholdInit: o.inputThresholdInit,
      validationClips: o.validationClips,
      model: { build, deltaActivations: iformerDeltaActivations },
      checkpointDir: outDir,
      resume: o.resume,
      shouldStop: () => stopRequested() !== undefined,
      log,
      now: () => Date.now(),
    }),
  );
  throwIfInterrupted(result.stoppedAt, o.out);
  const seconds = (Date.now() - started) / 1000;
  const heldOut = generateVideoClips({
    seed: o.seed,
    count: IFORMER_VIDEO_HELDOUT_CLIPS,
    split: 'heldout',
    frames: DEFAULT_FRAMES,
  });
  const heldOutAccuracy = accuracyOn(runtime.tf, result.model, heldOut);
  log(`held-out accuracy ${(100 * heldOutAccuracy).toFixed(2)}% on ${heldOut.count} clips`);
  const { iformerDalDensity } = await import('../../nn/eval/iformer-dal-density.js');
  const density = iformerDalDensity(runtime.tf, result.model, heldOut);
  log(
    `DAL deltas on the held-out clips: MAC-weighted density ${density.macWeightedDensity.toFixed(4)} (first frames ${density.keyFrameDensity.toFixed(4)}, later frames ${density.deltaFrameDensity.toFixed(4)})`,
  );
  const variant = resolvedVariant({ variant: o.arch, mixer: o.mixer, classes: NUM_MOTION_CLASSES });
  const last = result.history[result.history.length - 1];
  const thresholds = Object.fromEntries(
    iformerDeltaActivations(result.model).map((d) => [d.name, d.thetaValues()]),
  );
  const flagsText = [
    `--data ${IFORMER_VIDEO_DATA}`,
    `--mixer ${o.mixer}`,
    `--activation ${o.activation}`,
    ...(o.arch !== 'mini' ? [`--arch ${o.arch}`] : []),
    `--seed ${o.seed}`,
    `--epochs ${o.epochs}`,
    `--clips ${o.clips}`,
    `--batch-size ${o.batchSize}`,
    `--lr ${o.learningRate}`,
    `--sp-rate ${o.spRate}`,
    ...(o.init !== undefined ? [`--init ${o.init}`] : []),
    `--out ${o.out}`,
  ].join(' ');
  await saveModel(runtime, result.model, outDir, {
    name: basename(outDir),
    family: 'iformer',
    variant: o.mixer,
    seed: o.seed,
    epochs: o.epochs,
    backend: runtime.backend,
    data: {
      dataset: IFORMER_VIDEO_DATA,
      generator: 'src/nn/data/video-clips.ts',
      clips: o.clips,
      clipSeed: o.seed,
      frames: DEFAULT_FRAMES,
      size: DEFAULT_SIZE,
      classes: NUM_MOTION_CLASSES,
      noiseStd: DEFAULT_NOISE_STD,
      heldOutClips: heldOut.count,
      arch: o.arch,
      activation: o.activation,
      widths: variant.stages.map((s) => s.width),
      attentionShares: attentionShares(variant, o.mixer),
      batchSize: o.batchSize,
      learningRate: o.learningRate,
      spRate: o.spRate,
      thresholdInit: o.thresholdInit,
      inputThresholdInit: o.inputThresholdInit,
      ...(o.init !== undefined ? { initFrom: o.init } : {}),
      thresholds,
      dalDensity: density.perDal,
      params: result.model.countParams(),
      macs: iformerVideoMacs(variant, o.mixer, NUM_MOTION_CLASSES),
      trainSeconds: Math.round(seconds),
    },
    metrics: {
      ...lastTrainingMetrics(last),
      heldOutAccuracy,
      macWeightedDensity: density.macWeightedDensity,
      keyFrameDensity: density.keyFrameDensity,
      deltaFrameDensity: density.deltaFrameDensity,
    },
    createdBy: 'deltasim train',
    command: `deltasim train iformer ${flagsText}`,
  });
  await removeTrainCheckpoint(outDir);
  log(`saved ${o.out} (${seconds.toFixed(0)} s, backend ${runtime.backend})`);
}

/** `deltasim train iformer …`: trains, checkpoints every epoch, saves the model with its card. */
export async function trainIFormerAction(io: CliIo, flags: IFormerTrainFlags): Promise<void> {
  if (flags.data !== undefined)
    choiceFlag('--data', flags.data, [...IMAGE_DATASETS, IFORMER_VIDEO_DATA], 'mnist');
  if (flags.data === IFORMER_VIDEO_DATA) {
    await trainIFormerVideo(io, flags);
    return;
  }
  if (flags.init !== undefined) throw new UsageError('--init', flags.init, 'is for --data video only');
  const o = parseIFormerTrainFlags(flags);
  const outDir = resolve(io.cwd, o.out);
  await prepareTrainOutput(io, outDir, { resume: o.resume, force: flags.force === true });
  const { loadTf } = await import('../../nn/runtime.js');
  const { saveModel } = await import('../../nn/model-io.js');
  const { trainIFormer, imageAccuracy } = await import('../../nn/train/train-iformer.js');
  const { imageDataset } = await import('../../nn/data/image-datasets.js');
  const { resolvedVariant } = await import('../../nn/models/iformer.js');
  const { attentionShares, iformerMacs } = await import('../../nn/models/iformer-config.js');
  const log = (line: string): void => {
    io.stderr.write(`${line}\n`);
  };
  const runtime = await loadTf({ prefer: o.prefer, verbose: log });
  const started = Date.now();
  const result = await trainIFormer(runtime, {
    data: o.data,
    mixer: o.mixer,
    activation: o.activation,
    variant: o.arch,
    seed: o.seed,
    epochs: o.epochs,
    batchSize: o.batchSize,
    learningRate: o.learningRate,
    trainExamples: o.examples,
    checkpointDir: outDir,
    resume: o.resume,
    log,
    now: () => Date.now(),
  });
  const seconds = (Date.now() - started) / 1000;
  const heldOut = imageDataset({ name: o.data, role: 'heldout', seed: o.seed });
  const heldOutAccuracy = imageAccuracy(runtime.tf, result.model, heldOut);
  log(`held-out accuracy ${(100 * heldOutAccuracy).toFixed(2)}% on ${heldOut.count} ${o.data} images`);
  const variant = resolvedVariant({ variant: o.arch, mixer: o.mixer, classes: heldOut.classes });
  const last = result.history[result.history.length - 1];
  const flagsText = [
    `--data ${o.data}`,
    `--mixer ${o.mixer}`,
    `--activation ${o.activation}`,
    ...(o.arch !== 'mini' ? [`--arch ${o.arch}`] : []),
    `--seed ${o.seed}`,
    `--epochs ${o.epochs}`,
    ...(o.examples !== undefined ? [`--examples ${o.examples}`] : []),
    `--out ${o.out}`,
  ].join(' ');
  await saveModel(runtime, result.model, outDir, {
    name: basename(outDir),
    family: 'iformer',
    variant: o.mixer,
    seed: o.seed,
    epochs: o.epochs,
    backend: runtime.backend,
    data: {
      dataset: o.data,
      splitSeed: o.seed,
      trainExamples: result.trainExamples,
      heldOutExamples: heldOut.count,
      classes: heldOut.classes,
      arch: o.arch,
      activation: o.activation,
      widths: variant.stages.map((s) => s.width),
      attentionShares: attentionShares(variant, o.mixer),
      batchSize: o.batchSize,
      learningRate: o.learningRate,
      steps: result.steps,
      params: result.model.countParams(),
      macs: iformerMacs(variant, o.mixer, heldOut.classes),
      trainSeconds: Math.round(seconds),
    },
    metrics: {
      ...lastTrainingMetrics(last),
      heldOutAccuracy,
    },
    createdBy: 'deltasim train',
    command: `deltasim train iformer ${flagsText}`,
  });
  await removeTrainCheckpoint(outDir);
  log(`saved ${o.out} (${seconds.toFixed(0)} s, backend ${runtime.backend})`);
}

export interface IFormerEvalResult {
  readonly model: string;
  readonly mixer: string;
  readonly activation: string;
  readonly accuracy: number;
  readonly params: number;
  readonly macs: number;
}

/**
 * `deltasim eval iformer [--model DIR]…`: held-out accuracy, weights and MACs per model. All models
 * must be on the same dataset; the last stdout line with --json is
 * `{"dataset":…,"examples":…,"results":[{"model":…,"mixer":…,"accuracy":…,"params":…,"macs":…},…]}`.
 */
export async function evalIFormerAction(
  io: CliIo,
  dirs: readonly string[],
  options: { readonly json: boolean; readonly prefer: BackendChoice; readonly verbose: boolean },
): Promise<void> {
  const modelDirs = dirs.length > 0 ? dirs : [IFORMER_DEFAULT_MODEL];
  const { loadTf } = await import('../../nn/runtime.js');
  const { loadModel } = await import('../../nn/model-io.js');
  const { imageAccuracy } = await import('../../nn/train/train-iformer.js');
  const { imageDataset } = await import('../../nn/data/image-datasets.js');
  const { resolvedVariant } = await import('../../nn/models/iformer.js');
  const { iformerMacs } = await import('../../nn/models/iformer-config.js');
  const runtime = await loadTf({
    prefer: options.prefer,
    ...(options.verbose ? { verbose: (line: string) => io.stderr.write(`${line}\n`) } : {}),
  });
  const started = Date.now();
  const results: IFormerEvalResult[] = [];
  let dataset: ImageDatasetName | undefined;
  let examples = 0;
  for (const dir of modelDirs) {
    const { model, card } = await loadModel(runtime, resolve(io.cwd, dir));
    const cardPath = join(dir, 'card.json');
    if (card.family !== 'iformer')
      throw new UsageError('--model', dir, `card.json family is ${card.family}, not iformer`);
    const name = choiceFlag(`${cardPath} data.dataset`, String(card.data.dataset), IMAGE_DATASETS, 'mnist');
    if (dataset !== undefined && name !== dataset) {
      throw new UsageError('--model', dir, `is a ${name} model; the others are ${dataset} models`);
    }
    dataset = name;
    const mixer = choiceFlag(`${cardPath} variant`, card.variant, MIXER_KINDS, 'inception');
    const arch = choiceFlag(
      `${cardPath} data.arch`,
      String(card.data.arch ?? 'mini'),
      Object.keys(IFORMER_VARIANTS) as IFormerVariantName[],
      'mini',
    );
    const splitSeed = typeof card.data.splitSeed === 'number' ? card.data.splitSeed : card.seed;
    const heldOut = imageDataset({ name, role: 'heldout', seed: splitSeed });
    examples = heldOut.count;
    io.stderr.write(`evaluating ${dir} (${mixer}) on ${heldOut.count} held-out ${name} images\n`);
    const accuracy = imageAccuracy(runtime.tf, model, heldOut);
    const variant = resolvedVariant({ variant: arch, mixer, classes: heldOut.classes });
    results.push({
      model: dir,
      mixer,
      activation: String(card.data.activation ?? 'gelu'),
      accuracy,
      params: model.countParams(),
      macs: iformerMacs(variant, mixer, heldOut.classes),
    });
    model.dispose();
  }
  if (options.json) {
    io.stdout.write(`${JSON.stringify({ dataset, examples, results })}\n`);
    return;
  }
  io.stdout.write(`iformer on ${examples} held-out ${dataset} images\n`);
  io.stdout.write(
    `${'model'.padEnd(32)} ${'mixer'.padEnd(10)} ${'act'.padEnd(5)} ${'accuracy'.padStart(9)} ${'params'.padStart(9)} ${'MACs/image'.padStart(11)}\n`,
  );
  for (const r of results) {
    io.stdout.write(
      `${r.model.padEnd(32)} ${r.mixer.padEnd(10)} ${r.activation.padEnd(5)} ${(100 * r.accuracy).toFixed(2).padStart(8)}% ${String(r.params).padStart(9)} ${String(r.macs).padStart(11)}\n`,
    );
  }
  io.stdout.write(`(${((Date.now() - started) / 1000).toFixed(0)} s, backend ${runtime.backend})\n`);
}

export interface IFormerRecordRequest {
  readonly model: string;
  /** Exactly one of the two, as given on the command line. */
  readonly images: string | undefined;
  readonly clips: string | undefined;
  readonly seed: number;
  readonly out: string;
  readonly dtype: ValueDtype;
  readonly overwrite: boolean;
  readonly prefer: BackendChoice;
  readonly verbose: boolean;
}

/**
 * `deltasim record iformer --model DIR --images N | --clips N`: an image model records held-out
 * images of its dataset, a video-mode model held-out action clips (docs/iformer.md, "Recording").
 */
export async function runIFormerRecord(io: CliIo, r: IFormerRecordRequest): Promise<void> {
  if ((r.images === undefined) === (r.clips === undefined)) {
    throw new UsageError(
      '--images',
      r.images ?? '',
      'give exactly one of --images N (image models) and --clips N (video models)',
    );
  }
  const images =
    r.images !== undefined ? intFlag('--images', r.images, 8, 1, SIZE_LIMITS.recordImages) : undefined;
  const clips =
    r.clips !== undefined ? intFlag('--clips', r.clips, 1, 1, SIZE_LIMITS.recordClips) : undefined;
  const dir = resolve(io.cwd, r.model);
  const cardPath = join(dir, 'card.json');
  const { readModelCard } = await import('../../nn/model-io.js');
  const card = await readModelCard(dir);
  if (card.family !== 'iformer')
    throw new UsageError('--model', r.model, `card.json family is ${card.family}, not iformer`);
  const dataset = String(card.data.dataset);
  const video = dataset === IFORMER_VIDEO_DATA;
  if (video && images !== undefined)
    throw new UsageError('--images', r.images!, `${r.model} is a video model: record it with --clips N`);
  if (!video && clips !== undefined)
    throw new UsageError(
      '--clips',
      r.clips!,
      `${r.model} is a ${dataset} image model: record it with --images N`,
    );
  const { loadTf } = await import('../../nn/runtime.js');
  const { loadModel } = await import('../../nn/model-io.js');
  const { recordIFormer } = await import('../../nn/record/record-iformer.js');
  const { VERSION } = await import('../version.js');
  const runtime = await loadTf({
    prefer: r.prefer,
    ...(r.verbose ? { verbose: (line: string) => io.stderr.write(`${line}\n`) } : {}),
  });
  const loaded = await loadModel(runtime, dir);
  let input: import('../../nn/record/record-iformer.js').IFormerRecordInput;
  if (video) {
    const { generateVideoClips } = await import('../../nn/data/video-clips.js');
    const frames = loaded.model.inputs[0]!.shape[1] as number;
    input = {
      kind: 'clips',
      set: generateVideoClips({ seed: r.seed, count: clips!, split: 'heldout', frames }),
    };
  } else {
    const { imageDataset } = await import('../../nn/data/image-datasets.js');
    const name = choiceFlag(`${cardPath} data.dataset`, dataset, IMAGE_DATASETS, 'mnist');
    const splitSeed = typeof card.data.splitSeed === 'number' ? card.data.splitSeed : card.seed;
    input = { kind: 'images', set: imageDataset({ name, role: 'heldout', seed: splitSeed }), count: images! };
  }
  const result = await recordIFormer(runtime, loaded.model, {
    out: r.out,
    input,
    seed: r.seed,
    modelName: loaded.card.name,
    cardPath: relative(io.cwd, cardPath).split('\\').join('/'),
    producer: `deltasim ${VERSION}`,
    dtype: r.dtype,
    overwrite: r.overwrite,
    log: (line) => io.stderr.write(`${line}\n`),
  });
  io.stderr.write(`wrote ${result.files.join(', ')}: ${result.steps} steps, ${result.bytes} bytes\n`);
}
