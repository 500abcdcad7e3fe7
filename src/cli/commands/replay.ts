import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Command, Option } from '@commander-js/extra-typings';
import { UsageError } from '../../common/input-error.js';
import { interruptSignal, RunInterrupted } from '../../common/interrupt.js';
import { removeTemporary, sweepStaleTemporaries, temporaryPathFor } from '../../common/temp-files.js';
import type { RunEvent } from '../../core/events.js';
import type { HardwareModel } from '../../core/hardware.js';
import { PRESET_NAMES, PRESETS } from '../../core/presets.js';
import type { TraceReader } from '../../trace/reader.js';
import { parseHardwareFlags } from '../hardware-flags.js';
import { type CliIo, EXIT_CHECK_FAILED, EXIT_OK } from '../io.js';
import { intFlag, seedFlag } from '../nn-flags.js';
import type { CommandModule } from '../program.js';
import type { Reporter } from '../reporters/reporter.js';
import { SIZE_LIMITS } from '../size-limits.js';
import { VERSION } from '../version.js';

export interface ReplayOptions {
  readonly hw?: readonly string[];
  readonly preset?: readonly string[];
  readonly array?: string;
  readonly dataflow?: string;
  readonly precision?: string;
  readonly delta?: boolean;
  readonly json?: boolean;
  readonly verify?: boolean;
  readonly ui?: string;
  readonly synthetic?: string;
  readonly seed?: string;
  /** `--workers N`: worker threads sharing the runs (default: the core count). */
  readonly workers?: string;
  /** `--schedule recurrent|chunkwise` (default recurrent): how delta-rule blocks are replayed. */
  readonly schedule?: string;
  /** `--hw` and `--preset` interleaved as typed; without it, the `--hw` files come first. */
  readonly hardwareOrder?: readonly HardwareChoice[];
}

/** One `--hw FILE` or `--preset NAME`, in command-line order. */
export interface HardwareChoice {
  readonly flag: '--hw' | '--preset';
  readonly value: string;
}

/** Flags that override every configuration, checked before any file is read. */
function overrides(options: ReplayOptions): Partial<HardwareModel> {
  return {
    ...parseHardwareFlags(options),
    ...(options.delta !== undefined ? { deltaMode: options.delta } : {}),
  };
}

/**
 * Every configuration to compare, in the order typed (reports and `--json`'s `runs` follow it);
 * sparten-like when none is given.
 */
export async function resolveReplayHardware(
  options: ReplayOptions,
  cwd: string,
): Promise<readonly HardwareModel[]> {
  const extra = overrides(options);
  const choices: readonly HardwareChoice[] = options.hardwareOrder ?? [
    ...(options.hw ?? []).map((value) => ({ flag: '--hw' as const, value })),
    ...(options.preset ?? []).map((value) => ({ flag: '--preset' as const, value })),
  ];
  for (const { flag, value } of choices) {
    if (flag === '--preset' && !PRESETS[value])
      throw new UsageError('--preset', '', `unknown preset "${value}" (use ${PRESET_NAMES.join(', ')})`);
  }
  const models: HardwareModel[] = [];
  for (const { flag, value } of choices) {
    if (flag === '--preset') {
      models.push(PRESETS[value]!);
      continue;
    }
    const { loadHardware } = await import('../../config/hardware-file.js');
    models.push(await loadHardware(resolve(cwd, value), value));
  }
  if (models.length === 0) models.push(PRESETS['sparten-like']!);
  return models.map((m) => ({ ...m, ...extra }));
}

export async function runReplay(
  traces: readonly string[],
  options: ReplayOptions,
  io: CliIo,
): Promise<number> {
  const { parseUiMode, chooseReporterKind, selectReporter } = await import('../reporters/select-reporter.js');
  const ui = parseUiMode(options.ui);
  const hardware = await resolveReplayHardware(options, io.cwd);
  if (traces.length === 0 && options.synthetic === undefined) {
    throw new UsageError('replay', '', 'give at least one TRACE file, or --synthetic NAME[:DENSITY[:STEPS]]');
  }
  const seed = seedFlag('--seed', options.seed, 1);
  const { availableParallelism } = await import('node:os');
  const workers = intFlag('--workers', options.workers, availableParallelism(), 1, SIZE_LIMITS.workers);
  const schedule = options.schedule ?? 'recurrent';
  if (schedule !== 'recurrent' && schedule !== 'chunkwise')
    throw new UsageError('--schedule', '', `unknown schedule "${schedule}" (use recurrent, chunkwise)`);
  if (schedule === 'chunkwise' && options.synthetic !== undefined)
    throw new UsageError(
      '--synthetic',
      '',
      'a synthetic trace has no chunked schedule (--schedule chunkwise)',
    );
  const sources = traces.map((t) => ({ path: resolve(io.cwd, t), label: t }));
  const kind = chooseReporterKind({ ui, json: options.json === true, io });
  // The work runs on worker threads (from the compiled dist/; on this thread from sources): with the
  // live dashboard this thread only draws, reads keys and takes Ctrl-C, so all N threads are
  // workers; for plain and --json output this thread is one of the N (with --workers 1 the only
  // one: no thread to start, nothing to post), yielding after every step so Ctrl-C still stops the
  // work at the next step. The chunked schedule is not split into layer tasks: one thread runs it.
  // With N threads the output is the same as with one (./replay/worker-driver.ts).
  const { replayWorkerUrl, replayPool } = await import('../../replay/replay-pool.js');
  const workerUrl = replayWorkerUrl();
  const dashboard = kind === 'tui';
  const threads = schedule === 'chunkwise' || !workerUrl ? 0 : dashboard ? workers : workers - 1;
  // Taken before anything else (most were started by the CLI entry, ./replay-prestart.ts): the
  // threads boot while this one opens and checks the traces, which they then read as it found them.
  const pool = workerUrl ? replayPool(workerUrl, threads > (dashboard ? 1 : 0) ? threads : 0) : undefined;
  const opened = new Map<string, TraceReader>();
  try {
    // Before any replay code loads (see ../main.ts for why not earlier).
    (await import('../../replay/v8-tiering.js')).tuneTieringForReplay();
    const { openTrace } = await import('../../trace/reader.js');
    const { driveReplays, syntheticLabel } = await import('../../replay/replay-driver.js');
    // The synthesizer (and its writer) loads only for --synthetic: a replay of files does not need it.
    const synthetic =
      options.synthetic === undefined
        ? undefined
        : {
            spec: options.synthetic,
            ...(await import('../../trace/synthesize.js')).parseSyntheticSpec(options.synthetic),
          };
    if (synthetic && synthetic.steps > SIZE_LIMITS.syntheticSteps) {
      throw new UsageError(
        '--synthetic',
        'steps',
        `${synthetic.steps} is more than ${SIZE_LIMITS.syntheticSteps}`,
      );
    }
    // Open every trace before any output, so a bad file fails with nothing half-printed; the
    // readers are kept for the replay.
    for (const source of sources) {
      const reader = await openTrace(source.path);
      opened.set(source.path, reader);
      if (schedule === 'chunkwise' && reader.manifest.chunkwise === undefined) {
        const { TraceError } = await import('../../trace/trace-error.js');
        throw new TraceError(
          source.label,
          'manifest.chunkwise',
          'is absent: --schedule chunkwise needs a trace recorded with the chunked schedule',
        );
      }
    }
    const runs = (sources.length + (synthetic ? 1 : 0)) * hardware.length;
    // Ctrl-C (SIGINT, or the dashboard's q / Ctrl-C) stops the work at its next step and unwinds.
    const { controller, dispose } = interruptSignal();
    const createReporter = async (): Promise<Reporter> => {
      if (kind !== 'plain')
        return selectReporter({
          ui,
          json: options.json === true,
          io,
          runs,
          onAbort: () => controller.abort(new RunInterrupted()),
        });
      const { ReplayPlainReporter } = await import('../../replay/replay-plain.js');
      const { withProgressLines } = await import('../reporters/progress.js');
      const { performance } = await import('node:perf_hooks');
      return withProgressLines(new ReplayPlainReporter(io), {
        stderr: io.stderr,
        now: () => performance.now(),
        expectedRuns: runs,
      });
    };
    let reporter: Reporter;
    try {
      reporter = await createReporter();
    } catch (error) {
      dispose();
      throw error;
    }
    let tempDir: string | undefined;
    let failures: Awaited<ReturnType<typeof driveReplays>> = [];
    try {
      if (synthetic) {
        reporter.onPhase?.(`synthesizing trace ${syntheticLabel(synthetic.spec)}…`);
        // A registered temporary: Ctrl-C removes it, and a killed run's is swept by the next one.
        await sweepStaleTemporaries(tmpdir(), (line) => io.stderr.write(`deltasim: ${line}\n`));
        tempDir = temporaryPathFor(join(tmpdir(), 'synthetic'));
        await mkdir(tempDir);
      }
      const plan = {
        traces: sources,
        ...(synthetic && tempDir
          ? {
              synthetic: {
                spec: synthetic.spec,
                seed,
                path: join(tempDir, `synthetic-${synthetic.shape}.safetensors`),
              },
            }
          : {}),
        hardware,
        verify: options.verify === true,
        ...(schedule === 'chunkwise' ? { schedule: 'chunkwise' as const } : {}),
        toolVersion: VERSION,
        histogramBins: 10,
      };
      const hooks = {
        onEvent: (event: RunEvent, runIndex: number) => reporter.onEvent(event, runIndex),
        onPhase: (text: string) => reporter.onPhase?.(text),
        signal: controller.signal,
      };
      if (pool) {
        const { driveReplaysShared } = await import('../../replay/worker-driver.js');
        failures = await driveReplaysShared(plan, hooks, { pool, onThisThread: !dashboard, opened });
      } else if (dashboard && workerUrl) {
        const { driveReplaysInWorker } = await import('../../replay/worker-driver.js');
        failures = await driveReplaysInWorker(workerUrl, plan, hooks);
      } else {
        // The synthesis (if any) still runs on a worker thread: Ctrl-C ends it at once.
        const { synthesizeInWorker } = await import('../../replay/worker-driver.js');
        const base = workerUrl ? await synthesizeInWorker(workerUrl, plan, hooks) : plan;
        failures = await driveReplays(base, hooks, opened);
      }
    } finally {
      dispose();
      await reporter.finish();
      if (tempDir) await removeTemporary(tempDir);
    }
    for (const { label, hardware: name, failure: f } of failures) {
      io.stderr.write(
        `deltasim: verify: ${label} on ${name}: layer ${f.layer} step ${f.step}: ${f.mismatches} outputs differ from the dense product (max relative error ${f.maxRelativeError.toExponential(2)}; ${f.detail})\n`,
      );
    }
    if (options.verify && failures.length === 0)
      io.stderr.write(
        `deltasim: verify: every layer matches the dense product (${runs} run${runs > 1 ? 's' : ''})\n`,
      );
    return failures.length > 0 ? EXIT_CHECK_FAILED : EXIT_OK;
  } finally {
    pool?.stop();
    for (const reader of opened.values()) await reader.close();
  }
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

export const replayCommand: CommandModule = {
  register(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
    const hardwareOrder: HardwareChoice[] = [];
    program
      .command('replay')
      .description(
        'Replay recorded sparsity through a sparse MAC array: skipped MACs, cycles, stalls, energy per layer',
      )
      .argument('[traces...]', 'trace files (.safetensors or a shard index)')
      .option(
        '--hw <file>',
        'hardware file (YAML/JSON, configs/hw/*.yaml, or a SCALE-Sim .cfg); repeat to compare',
        collect,
      )
      .option('--preset <name>', `hardware preset (${PRESET_NAMES.join(', ')}); repeat to compare`, collect)
      .option('--array <RxC>', 'array rows x columns, e.g. 32x32 (overrides every config)')
      .addOption(new Option('--dataflow <df>', 'os | ws | is (overrides every config)'))
      .addOption(new Option('--precision <p>', 'int8 | fp16 | fp32 (overrides every config)'))
      .option('--delta', 'temporal mode: y_t = y_{t-1} + W·Δ_t (overrides the config)')
      .option('--no-delta', 'replay every step on its own activations')
      .option('--json', 'NDJSON events on stdout; the last line is the report, or {"runs":[…]} for several')
      .option(
        '--verify',
        'recompute outputs through the skipping schedule and compare with the dense product (exit 1 on mismatch)',
      )
      .option(
        '--schedule <s>',
        'recurrent | chunkwise: replay delta-rule blocks token by token (default) or as their chunked schedule',
      )
      .option('--ui <mode>', 'auto | tui | plain', 'auto')
      .option('--synthetic <spec>', 'also replay a synthetic trace NAME[:DENSITY[:STEPS]] (resnet18, small)')
      .option('--seed <n>', 'seed of --synthetic (default 1)')
      .option(
        '--workers <n>',
        'worker threads sharing the runs (traces × configurations); default the core count, same output for every N',
      )
      // commander keeps --hw and --preset in separate lists; these listeners see them as typed.
      .on('option:hw', (value: string) => hardwareOrder.push({ flag: '--hw', value }))
      .on('option:preset', (value: string) => hardwareOrder.push({ flag: '--preset', value }))
      .action(async (traces, options) => {
        setExitCode(await runReplay(traces, { ...options, hardwareOrder }, io));
      });
  },
};
