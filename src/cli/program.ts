import { Command, CommanderError } from '@commander-js/extra-typings';
import { InputError } from '../common/input-error.js';
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

// Each room adds its command here, one line each.
const COMMAND_MODULES: readonly (() => Promise<CommandModule>)[] = [];

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode = EXIT_OK;
  const program = new Command()
    .name('deltasim')
    .description(
      'Cycle-approximate simulator of a sparsity-aware MAC array, replaying real activation traces',
    )
    .version(VERSION)
    .exitOverride()
    .showHelpAfterError(false)
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s, write) => write(s.endsWith('\n') ? s : `${s}\n`),
    });
  for (const load of COMMAND_MODULES) {
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
  if (error instanceof InputError) {
    io.stderr.write(`deltasim: ${error.toLine()}\n`);
    return EXIT_BAD_INPUT;
  }
  const message = error instanceof Error ? error.message : String(error);
  io.stderr.write(`deltasim: internal error: ${message}\n`);
  if (io.env.DELTASIM_DEBUG && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
  return 70;
}
