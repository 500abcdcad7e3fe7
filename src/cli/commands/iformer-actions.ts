import { basename, join, resolve } from 'node:path';
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
import type { CliIo } from '../io.js';
import { type BackendChoice, backendFlag, choiceFlag, intFlag, numberFlag, seedFlag } from '../nn-flags.js';
import { SIZE_LIMITS } from '../size-limits.js';
import { prepareTrainOutput, removeTrainCheckpoint } from '../train-output.js';

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
}

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
    throw new UsageError('--data', '', `is required for iformer (${IMAGE_DATASETS.join(' or ')})`);
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

/** `deltasim train iformer …`: trains, checkpoints every epoch, saves the model with its card. */
export async function trainIFormerAction(io: CliIo, flags: IFormerTrainFlags): Promise<void> {
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
      trainLoss: last?.loss ?? Number.NaN,
      trainAccuracy: last?.trainAccuracy ?? Number.NaN,
      validationAccuracy: last?.validationAccuracy ?? Number.NaN,
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
