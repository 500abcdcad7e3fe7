import { Command, CommanderError } from '@commander-js/extra-typings';
import { InputError } from '../common/input-error.js';
import { EXIT_INTERRUPTED, RunInterrupted } from '../common/interrupt.js';
import { exitCodeForSignal, InterruptedError } from '../common/shutdown.js';
import { type CliIo, EXIT_BAD_INPUT, EXIT_OK } from './io.js';
import { VERSION } from './version.js';

/**
 * One sub-command. `register` attaches it to the program; its action returns the exit code.
 * Heavy modules (tfjs, ink, mathjs) are imported inside actions, never at the top of a command file,
 * so `deltasim replay --json` never pays for the TUI or tfjs.
 */
export interface CommandModule {
  register(program: Command, io: CliIo, setExitCode: (code: number) => void): void;
}

// Each room adds its command here, one line each: the sub-command's name and how to load it.
const COMMAND_MODULES: Readonly<Record<string, () => Promise<CommandModule>>> = {
  doctor: () => import('./commands/doctor.js').then((m) => m.doctorCommand),
  simulate: () => import('./commands/simulate.js').then((m) => m.simulateCommand),
  replay: () => import('./commands/replay.js').then((m) => m.replayCommand),
  train: () => import('./commands/train.js').then((m) => m.trainCommand),
  eval: () => import('./commands/eval.js').then((m) => m.evalCommand),
  record: () => import('./commands/record.js').then((m) => m.recordCommand),
  trace: () => import('./commands/trace.js').then((m) => m.traceCommand),
  check: () => import('./commands/check.js').then((m) => m.checkCommand),
  validate: () => import('./commands/validate.js').then((m) => m.validateCommand),
  sweep: () => import('./commands/sweep.js').then((m) => m.sweepCommand),
  merge: () => import('./commands/sweep.js').then((m) => m.mergeCommand),
  'sweep-worker': () => import('./commands/sweep.js').then((m) => m.sweepWorkerCommand),
};

/**
 * Only the invoked sub-command's module is loaded (start-up time is a product figure); `--help`
 * or an unknown name loads them all so commander can list or reject them.
 */
function commandsToLoad(argv: readonly string[]): (() => Promise<CommandModule>)[] {
  const name = argv.find((arg) => !arg.startsWith('-'));
  const only = name !== undefined ? COMMAND_MODULES[name] : undefined;
  return only ? [only] : Object.values(COMMAND_MODULES);
}

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode = EXIT_OK;
  const program = new Command()
    .name('deltasim')
    .description(
      'Cycle-approximate simulator of a sparsity-aware MAC array, replaying real activation traces',
    )
    .version(VERSION)
    // Global so every tfjs-loading command (train, eval, record, doctor) reads it via optsWithGlobals().
    .option('--verbose', 'print diagnostics on stderr (e.g. which TensorFlow.js backend and why)')
    .exitOverride()
    .showHelpAfterError(false)
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s, write) => write(s.endsWith('\n') ? s : `${s}\n`),
    });
  for (const load of commandsToLoad(argv)) {
    (await load()).register(program, io, (code) => {
      exitCode = code;
    });
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    return reportFailure(error, io);
  }
}

/** Turns anything thrown into one stderr line and an exit code; never a stack trace for bad input. */
export function reportFailure(error: unknown, io: CliIo): number {
  if (error instanceof CommanderError) {
    // Help and version "errors" are how commander ends a successful --help / --version.
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT_OK;
    if (error.code === 'commander.help') return EXIT_OK;
    return EXIT_BAD_INPUT; // commander already printed its one line
  }
  if (error instanceof InterruptedError) {
    io.stderr.write(`deltasim: ${error.message}\n`);
    return exitCodeForSignal(error.signal);
  }
  if (error instanceof RunInterrupted) {
    io.stderr.write('deltasim: interrupted\n');
    return EXIT_INTERRUPTED;
  }
  if (error instanceof InputError) {
    io.stderr.write(`deltasim: ${error.toLine()}\n`);
    return EXIT_BAD_INPUT;
  }
  const message = error instanceof Error ? error.message : String(error);
  io.stderr.write(`deltasim: internal error: ${message}\n`);
  if (io.env.DELTASIM_DEBUG && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
  return 70;
}
