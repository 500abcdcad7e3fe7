import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from '@commander-js/extra-typings';
import { UsageError } from '../../common/input-error.js';
import type { HardwareModel } from '../../core/hardware.js';
import { PRESET_NAMES, PRESETS } from '../../core/presets.js';
import { type CliIo, EXIT_CHECK_FAILED, EXIT_OK } from '../io.js';
import { intFlag, seedFlag } from '../nn-flags.js';
import type { CommandModule } from '../program.js';

export interface CheckCliOptions {
  readonly hw?: string;
  readonly preset?: string;
  readonly runs?: string;
  readonly seed?: string;
  readonly law?: readonly string[];
  readonly path?: string;
  readonly engine?: string;
  readonly json?: boolean;
}

/** Cases per law unless `--runs` says otherwise: what CI runs on every preset. */
export const DEFAULT_CHECK_RUNS = 25;
/** The default seed: a plain `deltasim check` is deterministic; `--seed` explores further. */
export const DEFAULT_CHECK_SEED = 1;
const MAX_RUNS = 1_000_000;

interface Target {
  /** How the command line named it (`--preset NAME` / `--hw FILE`), for the replay line. */
  readonly flag: string;
  readonly hardware: HardwareModel;
}

async function targets(options: CheckCliOptions, cwd: string): Promise<Target[]> {
  if (options.hw !== undefined && options.preset !== undefined)
    throw new UsageError('--hw', options.hw, 'give --hw or --preset, not both');
  if (options.preset !== undefined) {
    const hardware = PRESETS[options.preset];
    if (!hardware)
      throw new UsageError(
        '--preset',
        '',
        `unknown preset "${options.preset}" (use ${PRESET_NAMES.join(', ')})`,
      );
    return [{ flag: `--preset ${options.preset}`, hardware }];
  }
  if (options.hw !== undefined) {
    const { loadHardware } = await import('../../config/hardware-file.js');
    const hardware = await loadHardware(resolve(cwd, options.hw), options.hw);
    return [{ flag: `--hw ${options.hw}`, hardware }];
  }
  return PRESET_NAMES.map((name) => ({ flag: `--preset ${name}`, hardware: PRESETS[name]! }));
}

/** Loads `--engine FILE`: a module whose default export extends deltasim's engine. */
async function loadEngine(file: string, cwd: string) {
  const { deltasimEngine } = await import('../../testing/engine.js');
  let module: { default?: unknown };
  try {
    module = (await import(pathToFileURL(resolve(cwd, file)).href)) as { default?: unknown };
  } catch (error) {
    throw new UsageError(
      '--engine',
      file,
      `cannot load: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (typeof module.default !== 'function')
    throw new UsageError('--engine', file, 'must export default a function (engine) => engine');
  const engine = (module.default as (base: typeof deltasimEngine) => unknown)(deltasimEngine);
  const e = engine as { name?: unknown; replay?: unknown } | null;
  if (!e || typeof e.replay !== 'function' || typeof e.name !== 'string')
    throw new UsageError(
      '--engine',
      file,
      'the default export must return { name, replay(tracePath, hardware) }',
    );
  return engine as typeof deltasimEngine;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}

export async function runCheck(options: CheckCliOptions, io: CliIo): Promise<number> {
  const runs = intFlag('--runs', options.runs, DEFAULT_CHECK_RUNS, 1, MAX_RUNS);
  const seed = seedFlag('--seed', options.seed, DEFAULT_CHECK_SEED);
  const { LAWS, checkLaws, deltasimEngine } = await import('../../testing/index.js');
  const names = options.law ?? [];
  for (const name of names) {
    if (!LAWS.some((law) => law.name === name))
      throw new UsageError('--law', name, `unknown law (use ${LAWS.map((l) => l.name).join(', ')})`);
  }
  const laws = names.length > 0 ? LAWS.filter((law) => names.includes(law.name)) : LAWS;
  if (options.path !== undefined) {
    if (names.length !== 1)
      throw new UsageError('--path', options.path, 'replays one law: give exactly one --law');
    if (!/^\d+(:\d+)*$/.test(options.path))
      throw new UsageError('--path', options.path, 'must be a fast-check path such as 3:0:1');
  }
  const chosen = await targets(options, io.cwd);
  const engine = options.engine !== undefined ? await loadEngine(options.engine, io.cwd) : deltasimEngine;
  const json = options.json === true;
  const extra = options.engine !== undefined ? ` --engine ${options.engine}` : '';
  const runsOut = [];
  let failed = false;
  for (const target of chosen) {
    if (!json)
      io.stdout.write(
        `${target.hardware.name} (${engine.name} engine, ${runs} runs per law, seed ${seed})\n`,
      );
    const results = await checkLaws(
      laws,
      { hardware: target.hardware, engine },
      {
        runs,
        seed,
        ...(options.path !== undefined ? { path: options.path } : {}),
        onResult: (r) => {
          if (json) return;
          if (r.passed) {
            io.stdout.write(`  pass  ${r.law} (${r.runs} runs)\n`);
            return;
          }
          io.stdout.write(`  FAIL  ${r.law} after ${r.runs} runs, shrunk ${r.shrinks} times: ${r.error}\n`);
          io.stdout.write(
            `    law: ${r.statement}\n    counterexample:\n${indent(indent(r.counterexample ?? ''))}\n`,
          );
          io.stdout.write(`    seed ${r.seed}, path ${r.path}\n`);
          io.stdout.write(
            `    replay: deltasim check ${target.flag}${extra} --law ${r.law} --seed ${r.seed} --path ${r.path}\n`,
          );
        },
      },
    );
    if (results.some((r) => !r.passed)) failed = true;
    runsOut.push({ hardware: target.hardware.name, flag: target.flag, results });
    if (!json) {
      const bad = results.filter((r) => !r.passed).length;
      io.stdout.write(
        bad === 0 ? `  all ${results.length} laws hold\n` : `  ${bad} of ${results.length} laws fail\n`,
      );
    }
  }
  if (json)
    io.stdout.write(
      `${JSON.stringify({ engine: engine.name, runs, seed, passed: !failed, checks: runsOut })}\n`,
    );
  return failed ? EXIT_CHECK_FAILED : EXIT_OK;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export const checkCommand: CommandModule = {
  register(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
    program
      .command('check')
      .description(
        "Check the model's laws (property-based) on a hardware file or preset; prints each failure's shrunk case and how to replay it",
      )
      .option('--hw <file>', 'hardware file (YAML/JSON, configs/hw/*.yaml)')
      .option('--preset <name>', `hardware preset (${PRESET_NAMES.join(', ')}); default: every preset`)
      .option('--runs <n>', `generated cases per law (default ${DEFAULT_CHECK_RUNS})`)
      .option('--seed <s>', `fast-check seed (default ${DEFAULT_CHECK_SEED})`)
      .option('--law <name>', 'check only this law; repeat for several (default: all)', collect)
      .option('--path <path>', "replay a failure's path (with its --seed and one --law)")
      .option('--engine <file>', 'ES module whose default export extends the engine: (engine) => engine')
      .option('--json', 'print one JSON object with every result')
      .action(async (options) => {
        setExitCode(await runCheck(options, io));
      });
  },
};
