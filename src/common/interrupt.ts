/**
 * Ctrl-C for commands that can stop cleanly. By default SIGINT ends the process at once (shutdown.ts);
 * a command that threads an AbortSignal through its work registers here instead, so its `finally`
 * blocks run (terminal restored, temporaries removed) before the process exits with 130.
 */

/** Thrown (as an AbortSignal's reason) when the user stopped the run: the CLI exits 130, one line. */
export class RunInterrupted extends Error {
  constructor() {
    super('interrupted');
    this.name = 'RunInterrupted';
  }
}

/** Exit code of a run stopped by the user (128 + SIGINT, as a shell reports it). */
export const EXIT_INTERRUPTED = 130;

const listeners = new Set<() => void>();

/** While registered, SIGINT calls `listener` instead of ending the process. Returns the unregister. */
export function onInterrupt(listener: () => void): () => void {
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}

/** Delivers a SIGINT to the registered commands; false when none is listening (exit at once). */
export function deliverInterrupt(): boolean {
  if (listeners.size === 0) return false;
  for (const listener of [...listeners]) listener();
  return true;
}

/** An AbortSignal that fires on SIGINT, and its disposer (call it when the work is over). */
export function interruptSignal(): { readonly controller: AbortController; readonly dispose: () => void } {
  const controller = new AbortController();
  const dispose = onInterrupt(() => controller.abort(new RunInterrupted()));
  return { controller, dispose };
}
