import { basename, join, resolve } from 'node:path';
import { UsageError } from '../../common/input-error.js';
import type { CliIo } from '../io.js';
import { EXIT_OK } from '../io.js';
import { backendFlag, intFlag, modelFamilyArg, numberFlag } from '../nn-flags.js';
import { checkOutputPath } from '../output-path.js';
import type { CommandModule } from '../program.js';
import { addDeltaNetTrainOptions, deltaNetTrainPlan, runDeltaNetTrain } from './deltanet-commands.js';

export const trainCommand: CommandModule = {
  register(program, io, setExitCode) {
    const command = program
      .command('train')
      .description(
        'train a model on its synthetic dataset (delta-cnn: moving-digit action clips; deltanet: MQAR, MAD, RegBench)',
      )
      .argument('<model>', 'model family: delta-cnn or deltanet')
      .option('--variant <v>', 'dense (no DAL) or dal (Delta Activation Layers)', 'dense')
      .option('--seed <n>', 'seed of data, initialisation and batch order', '1')
      .option('--epochs <n>', 'epochs to train (total, counting resumed ones)', '8')
      .option('--clips <n>', 'training clips', '2000')
      .option('--batch-size <n>', 'clips (sequences) per batch (default 16)')
      .option('--lr <x>', 'Adam learning rate (default delta-cnn 0.001, deltanet 0.003)')
      .option('--sp-rate <x>', 'DAL sparsity weight sp_rate', '0.0002')
      .option('--threshold-init <x>', 'DAL initial θ after ReLUs', '0.05')
      .option('--input-threshold-init <x>', 'DAL initial θ on the input pixels', '0.1')
      .option('--hard-fraction <x>', "DyBAT's δ: fraction of hardest batches trained after epoch 1", '1')
      .option('--validation-clips <n>', 'held-out clips scored after each epoch', '100')
      .option('--init <dir>', 'start from this saved model (dense → DAL fine-tuning)')
      .option('--out <dir>', 'output model directory (default models/delta-cnn-<variant>)')
      .option('--resume', 'continue from the checkpoint in the output directory')
      .option('--backend <name>', 'tfjs backend: auto, tensorflow, wasm or cpu', 'auto');
    addDeltaNetTrainOptions(command).action(async (model, options) => {
      if (modelFamilyArg(model) === 'deltanet') {
        const plan = await deltaNetTrainPlan(io, options, backendFlag(options.backend));
        await runDeltaNetTrain(io, plan);
        setExitCode(EXIT_OK);
        return;
      }
      if (options.variant !== 'dense' && options.variant !== 'dal') {
        throw new UsageError('--variant', options.variant, 'must be dense or dal');
      }
      const variant: 'dense' | 'dal' = options.variant;
      const settings = {
        variant,
        seed: intFlag('--seed', options.seed, 1),
        epochs: intFlag('--epochs', options.epochs, 8, 1),
        clips: intFlag('--clips', options.clips, 2000, 1),
        batchSize: intFlag('--batch-size', options.batchSize, 16, 1),
        learningRate: numberFlag('--lr', options.lr, 1e-3, 0),
        spRate: numberFlag('--sp-rate', options.spRate, 2e-4, 0),
        thresholdInit: numberFlag('--threshold-init', options.thresholdInit, 0.05, 1e-6),
        inputThresholdInit: numberFlag('--input-threshold-init', options.inputThresholdInit, 0.1, 1e-6),
        hardFraction: numberFlag('--hard-fraction', options.hardFraction, 1, 1e-6, 1),
        validationClips: intFlag('--validation-clips', options.validationClips, 100),
      };
      const out = options.out ?? join('models', `delta-cnn-${variant}`);
      const prefer = backendFlag(options.backend);
      await checkOutputPath('--out', resolve(io.cwd, out), 'directory');
      await runTrain(io, { ...settings, out, prefer, init: options.init, resume: Boolean(options.resume) });
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
  const result = await trainDeltaCnn(runtime, {
    ...o,
    initWeightsFrom: init,
    checkpointDir: outDir,
    log,
    now: () => Date.now(),
  });
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
      trainLoss: last?.loss ?? Number.NaN,
      trainAccuracy: last?.trainAccuracy ?? Number.NaN,
      validationAccuracy: last?.validationAccuracy ?? Number.NaN,
    },
    createdBy: 'deltasim train',
    command: `deltasim train delta-cnn --variant ${o.variant} --seed ${o.seed} --epochs ${o.epochs} --clips ${o.clips}${o.init ? ` --init ${o.init}` : ''}${o.variant === 'dal' ? ` --sp-rate ${o.spRate}` : ''} --out ${o.out}`,
  });
  log(`saved ${o.out} (${seconds.toFixed(0)} s, backend ${runtime.backend})`);
}
