import { basename, join, relative, resolve } from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import { UsageError } from '../../common/input-error.js';
import { SEQUENCE_TASKS, type SequenceTaskName } from '../../nn/data/sequence-task.js';
import {
  MQAR_FILLS,
  type MqarFill,
  TASK_DEFAULTS,
  type TaskSettings,
  taskProblem,
} from '../../nn/data/tasks.js';
import { EVAL_SEED } from '../../nn/eval/eval-defaults.js';
import { ModelError } from '../../nn/model-io.js';
import { LR_DECAYS, type LrDecay } from '../../nn/train/lr-schedule.js';
import type { CliIo } from '../io.js';
import { type BackendChoice, intFlag, numberFlag } from '../nn-flags.js';
import {
  lastTrainingMetrics,
  prepareTrainOutput,
  removeTrainCheckpoint,
  throwIfInterrupted,
} from '../train-output.js';

/** The flags `train deltanet` adds to the train command (delta-cnn ignores them). */
export function addDeltaNetTrainOptions<C extends Command<[string], Record<string, unknown>>>(command: C): C {
  command
    .option('--task <t>', `deltanet: ${SEQUENCE_TASKS.join(', ')} (default mqar)`)
    .option(
      '--mixer <m>',
      'deltanet: delta (DeltaNet) or linear (linear attention); iformer: inception, attention or conv',
    )
    .option('--seq <n>', 'deltanet: sequence length')
    .option('--pairs <n>', 'deltanet: MQAR key-value pairs / tokens to copy')
    .option('--vocab <n>', 'deltanet: vocabulary size')
    .option('--fill <f>', 'deltanet: MQAR query-region filler random or zeros (default random)')
    .option(
      '--lr-decay <d>',
      'deltanet: learning rate after warm-up: constant, cosine or wsd (held, cosine over the last quarter; default constant)',
    )
    .option('--dmodel <n>', 'deltanet: model width (default 64)')
    .option('--layers <n>', 'deltanet: blocks (default 2)')
    .option('--heads <n>', 'deltanet: heads per mixer (default 2)')
    .option('--chunk <n>', 'deltanet: chunk size of the chunkwise form (default 16)')
    .option('--steps <n>', 'deltanet: optimizer steps (default 1500)')
    .option('--mlp', 'deltanet: SwiGLU MLP in every block')
    .option('--feature-map <f>', 'deltanet: q/k feature map silu or relu (default silu)')
    .option('--fixed-beta', 'deltanet: β = 1 instead of sigmoid(W_β x)')
    .option(
      '--beta-bias-init <x>',
      'deltanet: add a trainable per-head bias to the β gate, starting at x (e.g. -3)',
    )
    .option('--neg-eigval', 'deltanet: β ∈ (0, 2) (allow negative state eigenvalues)')
    .option('--tied-init', 'deltanet: start the LM head as the transposed embedding (untied afterwards)');
  return command;
}

/** Flags of the model commands as strings (commander's view), for the deltanet paths. */
export type RawFlags = Readonly<Record<string, string | boolean | undefined>>;

function str(flags: RawFlags, key: string): string | undefined {
  const v = flags[key];
  return typeof v === 'string' ? v : undefined;
}

/** Task and size from the flags, checked before tfjs loads. */
export function taskSettingsFromFlags(flags: RawFlags): TaskSettings {
  const task = (str(flags, 'task') ?? 'mqar') as SequenceTaskName;
  if (!SEQUENCE_TASKS.includes(task)) {
    throw new UsageError('--task', task, `must be one of ${SEQUENCE_TASKS.join(', ')}`);
  }
  const d = TASK_DEFAULTS[task];
  const settings: TaskSettings = {
    task,
    seqLen: intFlag('--seq', str(flags, 'seq'), d.seqLen, 2),
    vocab: intFlag('--vocab', str(flags, 'vocab'), d.vocab, 2),
    pairs: intFlag('--pairs', str(flags, 'pairs'), d.pairs, 0),
  };
  const fill = str(flags, 'fill');
  if (fill !== undefined) {
    if (!MQAR_FILLS.includes(fill as MqarFill)) {
      throw new UsageError('--fill', fill, `must be one of ${MQAR_FILLS.join(', ')}`);
    }
    if (task !== 'mqar') throw new UsageError('--fill', fill, 'applies to --task mqar only');
    // Absent means random, so cards and checkpoints written before the flag existed still match.
    if (fill === 'zeros') return checkedSettings({ ...settings, fill: 'zeros' });
  }
  return checkedSettings(settings);
}

function checkedSettings(settings: TaskSettings): TaskSettings {
  const problem = taskProblem(settings);
  if (problem)
    throw new UsageError(
      '--seq/--pairs/--vocab',
      `${settings.seqLen}/${settings.pairs}/${settings.vocab}`,
      problem,
    );
  return settings;
}

export interface DeltaNetTrainPlan {
  readonly task: TaskSettings;
  readonly mixer: 'delta' | 'linear';
  readonly dModel: number;
  readonly layers: number;
  readonly heads: number;
  readonly chunk: number;
  readonly steps: number;
  readonly mlp: boolean;
  readonly featureMap: 'silu' | 'relu';
  readonly useBeta: boolean;
  readonly allowNegEigval: boolean;
  /** Initial β-gate bias; undefined: no bias. */
  readonly betaBias: number | undefined;
  readonly tiedHeadInit: boolean;
  readonly seed: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly lrDecay: LrDecay;
  readonly out: string;
  readonly resume: boolean;
  readonly prefer: BackendChoice;
}

export const DELTANET_TRAIN_DEFAULTS = { steps: 1500, batchSize: 16, learningRate: 3e-3 } as const;

/** Parses and checks every deltanet training flag (one-line UsageError on the first bad one). */
export async function deltaNetTrainPlan(
  io: CliIo,
  flags: RawFlags,
  prefer: BackendChoice,
): Promise<DeltaNetTrainPlan> {
  const task = taskSettingsFromFlags(flags);
  const mixer = str(flags, 'mixer') ?? 'delta';
  if (mixer !== 'delta' && mixer !== 'linear')
    throw new UsageError('--mixer', mixer, 'must be delta or linear');
  const featureMap = str(flags, 'featureMap') ?? 'silu';
  if (featureMap !== 'silu' && featureMap !== 'relu') {
    throw new UsageError('--feature-map', featureMap, 'must be silu or relu');
  }
  const betaBias = betaBiasFlag(str(flags, 'betaBiasInit'), mixer, flags.fixedBeta === true);
  const dModel = intFlag('--dmodel', str(flags, 'dmodel'), 64, 1);
  const heads = intFlag('--heads', str(flags, 'heads'), 2, 1);
  if (dModel % heads !== 0) throw new UsageError('--heads', String(heads), `must divide --dmodel ${dModel}`);
  const out =
    str(flags, 'out') ?? join('models', `${mixer === 'delta' ? 'deltanet' : 'linear'}-${task.task}`);
  await prepareTrainOutput(io, resolve(io.cwd, out), {
    resume: flags.resume === true,
    force: flags.force === true,
  });
  return {
    task,
    mixer,
    dModel,
    heads,
    layers: intFlag('--layers', str(flags, 'layers'), 2, 1),
    chunk: intFlag('--chunk', str(flags, 'chunk'), 16, 1),
    steps: intFlag('--steps', str(flags, 'steps'), DELTANET_TRAIN_DEFAULTS.steps, 1),
    mlp: flags.mlp === true,
    featureMap,
    useBeta: flags.fixedBeta !== true,
    allowNegEigval: flags.negEigval === true,
    betaBias,
    tiedHeadInit: flags.tiedInit === true,
    seed: intFlag('--seed', str(flags, 'seed'), 1),
    batchSize: intFlag('--batch-size', str(flags, 'batchSize'), DELTANET_TRAIN_DEFAULTS.batchSize, 1),
    learningRate: numberFlag('--lr', str(flags, 'lr'), DELTANET_TRAIN_DEFAULTS.learningRate, 0),
    lrDecay: lrDecayFlag(str(flags, 'lrDecay')),
    out,
    resume: flags.resume === true,
    prefer,
  };
}

function betaBiasFlag(value: string | undefined, mixer: string, fixedBeta: boolean): number | undefined {
  if (value === undefined) return undefined;
  const x = numberFlag('--beta-bias-init', value, 0, -20, 20);
  if (mixer !== 'delta') throw new UsageError('--beta-bias-init', value, 'applies to --mixer delta only');
  if (fixedBeta) throw new UsageError('--beta-bias-init', value, 'has no gate to bias with --fixed-beta');
  return x;
}

function lrDecayFlag(value: string | undefined): LrDecay {
  if (value === undefined) return 'constant';
  if (!LR_DECAYS.includes(value as LrDecay)) {
    throw new UsageError('--lr-decay', value, `must be one of ${LR_DECAYS.join(', ')}`);
  }
  return value as LrDecay;
}

/** The command line that retrains a plan (stored in card.json). */
export function deltaNetTrainCommand(p: DeltaNetTrainPlan): string {
  const parts = [
    'deltasim train deltanet',
    `--task ${p.task.task} --mixer ${p.mixer} --seq ${p.task.seqLen} --pairs ${p.task.pairs} --vocab ${p.task.vocab}`,
    p.task.fill ? `--fill ${p.task.fill}` : '',
    `--dmodel ${p.dModel} --layers ${p.layers} --heads ${p.heads} --chunk ${p.chunk}`,
    `--steps ${p.steps} --batch-size ${p.batchSize} --lr ${p.learningRate} --seed ${p.seed}`,
    p.lrDecay !== 'constant' ? `--lr-decay ${p.lrDecay}` : '',
    p.mlp ? '--mlp' : '',
    p.featureMap !== 'silu' ? `--feature-map ${p.featureMap}` : '',
    p.useBeta ? '' : '--fixed-beta',
    p.allowNegEigval ? '--neg-eigval' : '',
    p.betaBias === undefined ? '' : `--beta-bias-init ${p.betaBias}`,
    p.tiedHeadInit ? '--tied-init' : '',
    `--out ${p.out}`,
  ];
  return parts.filter((s) => s !== '').join(' ');
}

export async function runDeltaNetTrain(io: CliIo, p: DeltaNetTrainPlan): Promise<void> {
  const { loadTf } = await import('../../nn/runtime.js');
  const { saveModel } = await import('../../nn/model-io.js');
  const { trainDeltaNet } = await import('../../nn/train/train-deltanet.js');
  const { stopRequested, withGracefulStop } = await import('../../common/shutdown.js');
  const log = (line: string): void => {
    io.stderr.write(`${line}\n`);
  };
  const runtime = await loadTf({ prefer: p.prefer, verbose: log });
  const outDir = resolve(io.cwd, p.out);
  const started = Date.now();
  const result = await withGracefulStop(() =>
    trainDeltaNet(runtime, {
      task: p.task,
      model: {
        dModel: p.dModel,
        layers: p.layers,
        heads: p.heads,
        mixer: p.mixer,
        featureMap: p.featureMap,
        useBeta: p.useBeta,
        allowNegEigval: p.allowNegEigval,
        ...(p.betaBias === undefined ? {} : { betaBias: p.betaBias }),
        tiedHeadInit: p.tiedHeadInit,
        mlp: p.mlp,
        chunk: p.chunk,
      },
      seed: p.seed,
      steps: p.steps,
      batchSize: p.batchSize,
      learningRate: p.learningRate,
      lrDecay: p.lrDecay,
      checkpointDir: outDir,
      resume: p.resume,
      log,
      now: () => Date.now(),
      shouldStop: () => stopRequested() !== undefined,
    }),
  );
  throwIfInterrupted(result.stoppedAt, p.out);
  const seconds = (Date.now() - started) / 1000;
  const last = result.history[result.history.length - 1];
  await saveModel(runtime, result.model, outDir, {
    name: basename(outDir),
    family: 'deltanet',
    variant: p.mixer,
    seed: p.seed,
    epochs: result.history.length,
    backend: runtime.backend,
    data: {
      task: p.task.task,
      settings: cardSettings(p.task),
      generator: `src/nn/data/${p.task.task === 'mqar' ? 'mqar' : p.task.task === 'regbench' ? 'regbench' : 'mad-tasks'}.ts`,
      model: {
        dModel: p.dModel,
        layers: p.layers,
        heads: p.heads,
        chunk: p.chunk,
        mlp: p.mlp,
        featureMap: p.featureMap,
        useBeta: p.useBeta,
        allowNegEigval: p.allowNegEigval,
        ...(p.betaBias === undefined ? {} : { betaBiasInit: p.betaBias }),
        ...(p.tiedHeadInit ? { tiedHeadInit: true } : {}),
      },
      steps: p.steps,
      batchSize: p.batchSize,
      learningRate: p.learningRate,
      ...(p.lrDecay !== 'constant' ? { lrDecay: p.lrDecay } : {}),
      // Checkpoints written before rounds carried their time have none: leave it out, not guess.
      ...(last?.seconds !== undefined ? { trainSeconds: Math.round(last.seconds) } : {}),
    },
    metrics: {
      ...lastTrainingMetrics(last),
    },
    createdBy: 'deltasim train',
    command: deltaNetTrainCommand(p),
  });
  await removeTrainCheckpoint(outDir);
  log(`saved ${p.out} (${seconds.toFixed(0)} s, backend ${runtime.backend})`);
}

/** The two bundled MQAR models `eval deltanet` compares when no --model is given. */
export const BUNDLED_DELTANET_MODELS = [
  join('models', 'deltanet-mqar-128x16'),
  join('models', 'linear-mqar-128x16'),
] as const;
export const DELTANET_EVAL_SEQUENCES = 1000;

export interface DeltaNetEvalRequest {
  readonly models: readonly string[];
  readonly sequences: number;
  readonly seed: number;
  readonly json: boolean;
  readonly writeCards: boolean;
  readonly prefer: BackendChoice;
  readonly verbose: boolean;
}

export function deltaNetEvalRequest(
  flags: RawFlags,
  prefer: BackendChoice,
  verbose: boolean,
): DeltaNetEvalRequest {
  const given = [str(flags, 'model'), str(flags, 'delta'), str(flags, 'linear')].filter(
    (d): d is string => d !== undefined,
  );
  return {
    models: given.length > 0 ? given : [...BUNDLED_DELTANET_MODELS],
    sequences: intFlag('--sequences', str(flags, 'sequences'), DELTANET_EVAL_SEQUENCES, 1),
    seed: intFlag('--seed', str(flags, 'seed'), EVAL_SEED),
    json: flags.json === true,
    writeCards: flags.writeCards === true,
    prefer,
    verbose,
  };
}

/**
 * Scores every model on the same held-out sequences of its card's task (the models must agree on
 * task and settings) and prints a table or, with --json, one object as the last stdout line.
 */
export async function runDeltaNetEval(io: CliIo, r: DeltaNetEvalRequest): Promise<void> {
  const { loadTf } = await import('../../nn/runtime.js');
  // Registers the custom layers with tfjs before any model.json is parsed.
  const { loadModel } = await import('../../nn/model-io.js');
  const { taskBatch } = await import('../../nn/data/tasks.js');
  const { sequenceAccuracy } = await import('../../nn/eval/sequence-accuracy.js');
  const runtime = await loadTf({
    prefer: r.prefer,
    ...(r.verbose ? { verbose: (line: string) => io.stderr.write(`${line}\n`) } : {}),
  });
  const loaded = [];
  for (const dir of r.models) {
    const m = await loadModel(runtime, resolve(io.cwd, dir));
    if (m.card.family !== 'deltanet') {
      throw new UsageError('--model', dir, `card.json family is ${m.card.family}, not deltanet`);
    }
    loaded.push({ dir, ...m, settings: cardTaskSettings(m.card.data, join(dir, 'card.json')) });
  }
  const settings = loaded[0]!.settings;
  for (const m of loaded.slice(1)) {
    if (JSON.stringify(m.settings) !== JSON.stringify(settings)) {
      throw new UsageError(
        '--model',
        m.dir,
        `trained on ${describe(m.settings)}, ${loaded[0]!.dir} on ${describe(settings)}`,
      );
    }
  }
  const batch = taskBatch(settings, r.sequences, r.seed);
  const results = [];
  for (const m of loaded) {
    const score = sequenceAccuracy(runtime.tf, m.model, batch);
    results.push({ mixer: m.card.variant, model: m.dir, accuracy: score.accuracy, scored: score.scored });
    if (r.writeCards) {
      const { updateCardMetrics } = await import('../../nn/eval/card-metrics.js');
      await updateCardMetrics(
        resolve(io.cwd, m.dir),
        { heldOutAccuracy: score.accuracy },
        { sequences: r.sequences, seed: r.seed },
      );
    }
  }
  const summary = {
    task: settings.task,
    settings: {
      ...cardSettings(settings),
      sequences: r.sequences,
      seed: r.seed,
    },
    results,
  };
  if (r.json) {
    io.stdout.write(`${JSON.stringify(summary)}\n`);
    return;
  }
  io.stdout.write(
    `${settings.task} (${describe(settings)}) on ${r.sequences} held-out sequences (seed ${r.seed})\n`,
  );
  for (const res of results) {
    io.stdout.write(`${res.mixer.padEnd(8)} ${(100 * res.accuracy).toFixed(2).padStart(7)}%  ${res.model}\n`);
  }
}

function describe(s: TaskSettings): string {
  return `seq ${s.seqLen}, pairs ${s.pairs}, vocab ${s.vocab}${s.fill ? `, fill ${s.fill}` : ''}`;
}

/** The task settings as card.json and `eval --json` state them (`fill` only when not random). */
function cardSettings(s: TaskSettings): Record<string, number | string> {
  return { seqLen: s.seqLen, pairs: s.pairs, vocab: s.vocab, ...(s.fill ? { fill: s.fill } : {}) };
}

function cardTaskSettings(data: Record<string, unknown>, source: string): TaskSettings {
  const task = data.task as SequenceTaskName;
  const s = data.settings as Record<string, unknown> | undefined;
  if (!SEQUENCE_TASKS.includes(task))
    throw new ModelError(source, 'field "data.task"', `must be one of ${SEQUENCE_TASKS.join(', ')}`);
  const num = (key: string): number => {
    const v = s?.[key];
    if (typeof v !== 'number' || !Number.isInteger(v))
      throw new ModelError(source, `field "data.settings.${key}"`, 'must be an integer');
    return v;
  };
  const fill = s?.fill;
  if (fill !== undefined && (task !== 'mqar' || !MQAR_FILLS.includes(fill as MqarFill))) {
    throw new ModelError(
      source,
      'field "data.settings.fill"',
      `must be one of ${MQAR_FILLS.join(', ')} (MQAR only)`,
    );
  }
  return {
    task,
    seqLen: num('seqLen'),
    pairs: num('pairs'),
    vocab: num('vocab'),
    ...(fill === 'zeros' ? { fill: 'zeros' as const } : {}),
  };
}

export interface DeltaNetRecordRequest {
  readonly model: string;
  readonly sequences: number;
  readonly seed: number;
  /** DAL step θ of every projection input (record deltas), if any. */
  readonly deltaThreshold?: number;
  /** Absolute path of the trace. */
  readonly out: string;
  readonly dtype: 'F32' | 'F16' | 'I8';
  readonly overwrite: boolean;
  readonly prefer: BackendChoice;
  readonly verbose: boolean;
}

/** Records `sequences` fresh sequences of the model card's task, token by token. */
export async function runDeltaNetRecord(io: CliIo, r: DeltaNetRecordRequest): Promise<void> {
  const { loadTf } = await import('../../nn/runtime.js');
  const { loadModel } = await import('../../nn/model-io.js');
  const { taskBatch } = await import('../../nn/data/tasks.js');
  const { recordDeltaNet } = await import('../../nn/record/record-deltanet.js');
  const { VERSION } = await import('../version.js');
  const runtime = await loadTf({
    prefer: r.prefer,
    ...(r.verbose ? { verbose: (line: string) => io.stderr.write(`${line}\n`) } : {}),
  });
  const dir = resolve(io.cwd, r.model);
  const loaded = await loadModel(runtime, dir);
  if (loaded.card.family !== 'deltanet') {
    throw new UsageError('--model', r.model, `card.json family is ${loaded.card.family}, not deltanet`);
  }
  const settings = cardTaskSettings(loaded.card.data, join(r.model, 'card.json'));
  const cardPath = relative(io.cwd, join(dir, 'card.json')).split('\\').join('/');
  const result = await recordDeltaNet(runtime, loaded.model, {
    out: r.out,
    batch: taskBatch(settings, r.sequences, r.seed),
    seed: r.seed,
    ...(r.deltaThreshold === undefined ? {} : { deltaThreshold: r.deltaThreshold }),
    modelName: loaded.card.name,
    cardPath,
    producer: `deltasim ${VERSION}`,
    dtype: r.dtype,
    overwrite: r.overwrite,
    log: (line) => io.stderr.write(`${line}\n`),
  });
  const percent = (a: number) => `${(100 * a).toFixed(2)} %`;
  io.stderr.write(
    r.deltaThreshold === undefined
      ? `accuracy on the recorded sequences ${percent(result.accuracy)}\n`
      : `accuracy on the recorded sequences ${percent(result.accuracy)} with θ = ${r.deltaThreshold} (exact inputs: ${percent(result.exactAccuracy)})\n`,
  );
  io.stderr.write(`wrote ${result.files.join(', ')}: ${result.steps} steps, ${result.bytes} bytes\n`);
}
