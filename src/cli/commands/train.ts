import { basename, join, resolve } from 'node:path';
import { UsageError } from '../../common/input-error.js';
import { stopRequested, withGracefulStop } from '../../common/shutdown.js';
import type { CliIo } from '../io.js';
import { EXIT_OK } from '../io.js';
import { backendFlag, intFlag, modelFamilyArg, numberFlag, seedFlag } from '../nn-flags.js';
import { DEFAULT_OUTPUT_DIR } from '../output-path.js';
import type { CommandModule } from '../program.js';
import { SIZE_LIMITS } from '../size-limits.js';
import {
  lastTrainingMetrics,
  prepareTrainOutput,
  removeTrainCheckpoint,
  throwIfInterrupted,
} from '../train-output.js';
import { addDeltaNetTrainOptions, deltaNetTrainPlan, runDeltaNetTrain } from './deltanet-commands.js';

export const trainCommand: CommandModule = {
  register(program, io, setExitCode) {
    const command = program
      .command('train')
      .description(
        'train a model (delta-cnn: moving-digit action clips; deltanet: MQAR, MAD, RegBench; iformer: MNIST digits or shape × texture images)',
      )
      .argument('<model>', 'model family: delta-cnn, deltanet or iformer')
      .option('--variant <v>', 'dense (no DAL) or dal (Delta Activation Layers)', 'dense')
      .option('--seed <n>', 'seed of data, initialisation and batch order', '1')
      .option('--epochs <n>', 'epochs to train (total, counting resumed ones; iformer: 6)', '8')
      .option('--clips <n>', 'training clips', '2000')
      .option('--batch-size <n>', 'clips per batch (default 16; deltanet: sequences; iformer: images, 64)')
      .option('--lr <x>', 'Adam learning rate (default 0.001; deltanet 0.003; iformer: peak, 0.002)')
      .option('--sp-rate <x>', 'DAL sparsity weight sp_rate', '0.0002')
      .option('--threshold-init <x>', 'DAL initial θ after ReLUs', '0.05')
      .option('--input-threshold-init <x>', 'DAL initial θ on the input pixels', '0.1')
      .option('--hard-fraction <x>', "DyBAT's δ: fraction of hardest batches trained after epoch 1", '1')
      .option('--validation-clips <n>', 'held-out clips scored after each epoch', '100')
      .option('--init <dir>', 'start from this saved model (dense → DAL fine-tuning)')
      .option('--out <dir>', 'output model directory (default out/delta-cnn-<variant>)')
      .option('--resume', 'continue from the checkpoint in the output directory')
      .option('--force', 'replace the model files in an existing --out directory (other files stay)')
      .option(
        '--checkpoint-every <n>',
        'also checkpoint every n batches inside an epoch (0: epoch ends only)',
        '25',
      )
      .option('--backend <name>', 'tfjs backend: auto, tensorflow, wasm or cpu', 'auto')
      .option('--data <name>', 'iformer: mnist, shapes or video (action clips, Delta Activation Layers)')
      .option('--activation <fn>', 'iformer: gelu or relu', 'gelu')
      .option('--arch <name>', 'iformer: stage table, mini or small', 'mini')
      .option(
        '--examples <n>',
        'iformer: training images (shapes: generated, default 6000; mnist: the first N of the split, default all)',
      );
    // --mixer is shared: deltanet's delta | linear, iformer's inception | attention | conv.
    addDeltaNetTrainOptions(command).action(async (model, options) => {
      const family = modelFamilyArg(model);
      if (family === 'deltanet') {
        const plan = await deltaNetTrainPlan(io, options, backendFlag(options.backend));
        await runDeltaNetTrain(io, plan);
        setExitCode(EXIT_OK);
        return;
      }
      if (family === 'iformer') {
        // The delta-cnn defaults (epochs, batch size, rate) are not the iFormer's: only explicit values count.
        const given = (key: keyof typeof options) =>
          command.getOptionValueSource(key as string) === 'default'
            ? undefined
            : (options[key] as string | undefined);
        const { trainIFormerAction } = await import('./iformer-actions.js');
        await trainIFormerAction(io, {
          data: options.data,
          // --mixer comes from addDeltaNetTrainOptions, whose typing commander does not carry through.
          mixer: (options as { mixer?: string }).mixer,
          activation: options.activation,
          arch: options.arch,
          seed: options.seed,
          epochs: given('epochs'),
          batchSize: given('batchSize'),
          lr: given('lr'),
          examples: options.examples,
          out: options.out,
          resume: Boolean(options.resume),
          force: Boolean(options.force),
          backend: options.backend,
          clips: given('clips'),
          spRate: given('spRate'),
          thresholdInit: given('thresholdInit'),
          inputThresholdInit: given('inputThresholdInit'),
          validationClips: given('validationClips'),
          init: options.init,
        });
        setExitCode(EXIT_OK);
        return;
      }
      if (options.variant !== 'dense' && options.variant !== 'dal') {
        throw new UsageError('--variant', options.variant, 'must be dense or dal');
      }
      const variant: 'dense' | 'dal' = options.variant;
      const settings = {
        variant,
        seed: seedFlag('--seed', options.seed, 1),
        epochs: intFlag('--epochs', options.epochs, 8, 1, SIZE_LIMITS.epochs),
        clips: intFlag('--clips', options.clips, 2000, 1, SIZE_LIMITS.clips),
        batchSize: intFlag('--batch-size', options.batchSize, 16, 1, SIZE_LIMITS.batchSize),
        learningRate: numberFlag('--lr', options.lr, 1e-3, 0),
        spRate: numberFlag('--sp-rate', options.spRate, 2e-4, 0),
        thresholdInit: numberFlag('--threshold-init', options.thresholdInit, 0.05, 1e-6),
        inputThresholdInit: numberFlag('--input-threshold-init', options.inputThresholdInit, 0.1, 1e-6),
        hardFraction: numberFlag('--hard-fraction', options.hardFraction, 1, 1e-6, 1),
        validationClips: intFlag('--validation-clips', options.validationClips, 100, 0, SIZE_LIMITS.clips),
        checkpointEveryBatches: intFlag(
          '--checkpoint-every',
          options.checkpointEvery,
          25,
          0,
          SIZE_LIMITS.clips,
        ),
      };
      const out = options.out ?? join(DEFAULT_OUTPUT_DIR, `delta-cnn-${variant}`);
      const prefer = backendFlag(options.backend);
      const resume = Boolean(options.resume);
      const force = Boolean(options.force);
      await prepareTrainOutput(io, resolve(io.cwd, out), { resume, force });
      await runTrain(io, { ...settings, out, prefer, init: options.init, resume });
      setExitCode(EXIT_OK);
    });
  },
};

interface RunTrainOptions {
  readonly variant: 'dense' | 'dal';
  readonly seed: number;
  readonly epochs: number;
  readonly clips: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly spRate: number;
  readonly thresholdInit: number;
  readonly inputThresholdInit: number;
  readonly hardFraction: number;
  readonly validationClips: number;
  readonly checkpointEveryBatches: number;
  readonly out: string;
  readonly prefer: 'auto' | 'tensorflow' | 'wasm' | 'cpu';
  readonly init: string | undefined;
  readonly resume: boolean;
}

async function runTrain(io: CliIo, o: RunTrainOptions): Promise<void> {
  const { loadTf } = await import('../../nn/runtime.js');
  const { loadModel, saveModel } = await import('../../nn/model-io.js');
  const { trainDeltaCnn } = await import('../../nn/train/train-loop.js');
  const { DEFAULT_FRAMES, DEFAULT_NOISE_STD, DEFAULT_SIZE, NUM_MOTION_CLASSES } = await import(
    '../../nn/data/video-clips.js'
  );
  const log = (line: string): void => {
    io.stderr.write(`${line}\n`);
  };
  const runtime = await loadTf({ prefer: o.prefer, verbose: log });
  const initial = o.init ? await loadModel(runtime, resolve(io.cwd, o.init)) : undefined;
  const init = initial?.model;
  const outDir = resolve(io.cwd, o.out);
  const started = Date.now();
  const result = await withGracefulStop(() =>
    trainDeltaCnn(runtime, {
      ...o,
      initWeightsFrom: init,
      checkpointDir: outDir,
      shouldStop: () => stopRequested() !== undefined,
      log,
      now: () => Date.now(),
    }),
  );
  throwIfInterrupted(result.stoppedAt, o.out);
  const seconds = (Date.now() - started) / 1000;
  const last = result.history[result.history.length - 1];
  const { deltaActivationLayers } = await import('../../nn/models/delta-cnn.js');
  const thetas = Object.fromEntries(
    deltaActivationLayers(result.model).map((d) => [d.name, d.thetaValues()]),
  );
  await saveModel(runtime, result.model, outDir, {
    name: basename(outDir),
    family: 'delta-cnn',
    variant: o.variant,
    seed: o.seed,
    // Epochs the weights have seen in all: a fine-tuned model counts its starting point's too.
    epochs: (initial?.card.epochs ?? 0) + o.epochs,
    backend: runtime.backend,
    data: {
      generator: 'src/nn/data/video-clips.ts',
      split: 'train',
      clips: o.clips,
      clipSeed: o.seed,
      frames: DEFAULT_FRAMES,
      size: DEFAULT_SIZE,
      classes: NUM_MOTION_CLASSES,
      noiseStd: DEFAULT_NOISE_STD,
      batchSize: o.batchSize,
      learningRate: o.learningRate,
      ...(o.variant === 'dal'
        ? {
            spRate: o.spRate,
            thresholdInit: o.thresholdInit,
            inputThresholdInit: o.inputThresholdInit,
            thresholds: thetas,
          }
        : {}),
      hardFraction: o.hardFraction,
      ...(o.init ? { initFrom: o.init, fineTuneEpochs: o.epochs } : {}),
      trainSeconds: Math.round(seconds),
    },
    metrics: {
      ...lastTrainingMetrics(last),
    },
    createdBy: 'deltasim train',
    command: `deltasim train delta-cnn --variant ${o.variant} --seed ${o.seed} --epochs ${o.epochs} --clips ${o.clips}${o.init ? ` --init ${o.init}` : ''}${o.variant === 'dal' ? ` --sp-rate ${o.spRate}` : ''} --out ${o.out}`,
  });
  await removeTrainCheckpoint(outDir);
  log(`saved ${o.out} (${seconds.toFixed(0)} s, backend ${runtime.backend})`);
}
