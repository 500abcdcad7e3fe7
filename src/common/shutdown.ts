/**
 * SIGINT and SIGTERM. By default a signal removes this run's temporaries and exits at once with
 * 128 + the signal number (130, 143). Work that can stop cleanly at a boundary of its own (training
 * at a batch boundary, which then saves a checkpoint) declares itself with `withGracefulStop`: the
 * first signal only raises `stopRequested()`; a second one exits at once.
 */
import { deliverInterrupt } from './interrupt.js';
import { removeTemporariesSync } from './temp-files.js';

export type StopSignal = 'SIGINT' | 'SIGTERM';

const SIGNAL_EXIT_CODES: Readonly<Record<StopSignal, number>> = { SIGINT: 130, SIGTERM: 143 };

export function exitCodeForSignal(signal: StopSignal): number {
  return SIGNAL_EXIT_CODES[signal];
}

/** Thrown by graceful work once it has stopped on a signal; the CLI exits with the signal's code. */
export class InterruptedError extends Error {
  constructor(
    readonly signal: StopSignal,
    /** What the user can do next (e.g. "continue with --resume"), shown after "interrupted". */
    readonly hint: string,
  ) {
    super(hint ? `interrupted (${signal}): ${hint}` : `interrupted (${signal})`);
    this.name = 'InterruptedError';
  }
}

/** How long a command that took Ctrl-C may take to stop cleanly before the process ends anyway. */
const FORCE_EXIT_MS = 2000;

let graceful = 0;
let requested: StopSignal | undefined;

/** The signal received while graceful work runs, if any. */
export function stopRequested(): StopSignal | undefined {
  return requested;
}

/** Runs `work` with signals turned into a stop request (see the module comment). */
export async function withGracefulStop<T>(work: () => Promise<T>): Promise<T> {
  graceful++;
  try {
    return await work();
  } finally {
    graceful--;
  }
}

/**
 * Installs the handlers (the CLI's entry point calls this once). `say` prints one line on stderr.
 * Temporaries are also removed on any exit, as a backstop for failures that skipped their own
 * clean-up.
 */
export function installSignalHandlers(say: (line: string) => void): void {
  let interruptDelivered = false;
  const exitNow = (signal: StopSignal): void => {
    removeTemporariesSync();
    say(`deltasim: interrupted (${signal})`);
    process.exit(exitCodeForSignal(signal));
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      // A command that threads an AbortSignal through its work (replay) unwinds itself on Ctrl-C; a
      // second Ctrl-C, or a stop slower than FORCE_EXIT_MS, ends the process anyway.
      if (signal === 'SIGINT' && !interruptDelivered && deliverInterrupt()) {
        interruptDelivered = true;
        setTimeout(() => exitNow(signal), FORCE_EXIT_MS).unref();
        return;
      }
      if (graceful > 0 && requested === undefined) {
        requested = signal;
        say(`deltasim: ${signal}: stopping at the next safe point (send it again to stop at once)`);
        return;
      }
      exitNow(signal);
    });
  }
  process.on('exit', () => {
    removeTemporariesSync();
  });
}
