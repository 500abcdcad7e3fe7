import { render } from 'ink';
import type { RunEvent } from '../core/events.js';
import { Dashboard } from './dashboard.js';
import { type DashboardState, isRunDone, startedRuns } from './dashboard-state.js';
import { createDashboardStore } from './dashboard-store.js';

/** Longest `finish` waits for React to draw the last state (it normally takes one tick). */
const CATCH_UP_LIMIT_MS = 1000;

export interface StartDashboardOptions {
  readonly stdout: NodeJS.WriteStream;
  readonly stdin: NodeJS.ReadStream;
  readonly expectedRuns: number;
  /** A keyboard is attached: keys work and `finish` waits for `q` so the result can be browsed. */
  readonly interactive: boolean;
  /** The user quit before every run was done: the command should stop computing. */
  readonly onAbort: () => void;
  /** Route console.* above the live frame (ink's default); off where console is not Node's (vitest). */
  readonly patchConsole?: boolean;
}

export interface DashboardHandle {
  onEvent(event: RunEvent, runIndex: number): void;
  finish(): Promise<void>;
}

/**
 * Mounts the ink dashboard and returns the reporter side of it. The final frame stays on screen when
 * the app ends (ink leaves its last output in place).
 */
export function startDashboard(options: StartDashboardOptions): DashboardHandle {
  const store = createDashboardStore({ notifyEveryMs: 33 });
  let exited = false;
  // Set once the command calls `finish`: it computes nothing more, so a quit can no longer abort.
  let finishing = false;
  const allDone = (): boolean => {
    const runs = startedRuns(store.getSnapshot());
    return runs.length >= options.expectedRuns && runs.every(isRunDone);
  };
  const onQuit = (): void => {
    exited = true;
    if (!finishing && !allDone()) options.onAbort();
  };
  // React subscribes to the store in an effect, after the first frame; a fast run can be over by
  // then. `finish` waits until a committed frame shows the last state before it unmounts.
  let committed: DashboardState | undefined;
  let onCaughtUp: (() => void) | undefined;
  const onCommit = (state: DashboardState): void => {
    committed = state;
    if (state === store.getSnapshot()) onCaughtUp?.();
  };
  const caughtUp = (): Promise<void> =>
    new Promise((resolve) => {
      if (committed === store.getSnapshot()) return resolve();
      const fallback = setTimeout(resolve, CATCH_UP_LIMIT_MS);
      onCaughtUp = () => {
        clearTimeout(fallback);
        resolve();
      };
    });
  const instance = render(
    <Dashboard
      store={store}
      expectedRuns={options.expectedRuns}
      interactive={options.interactive}
      onQuit={onQuit}
      onCommit={onCommit}
    />,
    {
      stdout: options.stdout,
      stdin: options.stdin,
      // q, Esc and Ctrl-C go through onQuit, so a mid-run quit can stop the run.
      exitOnCtrlC: false,
      patchConsole: options.patchConsole ?? true,
    },
  );
  const exitedPromise = instance.waitUntilExit().then(
    () => {
      exited = true;
      // ink leaves the cursor at the end of the final frame's last line; the shell prompt goes below.
      if (options.stdout.isTTY) options.stdout.write('\n');
    },
    (error: unknown) => {
      exited = true;
      throw error;
    },
  );
  // A render error rejects this mid-run, long before `finish` awaits it: marked handled here so Node
  // does not kill the process on an unhandled rejection; `finish` still rethrows it.
  exitedPromise.catch(() => undefined);
  return {
    onEvent(event, runIndex) {
      // After a quit the frame is final: later events would redraw under the shell prompt.
      if (!exited) store.dispatch(event, runIndex);
    },
    async finish() {
      finishing = true;
      store.flush();
      if (!exited) await caughtUp();
      // Waiting for `q` is for browsing a finished result. A command that stops before every run is
      // done is failing: unmount now so its error is printed (a later `q` would report "interrupted").
      if (!exited && (!options.interactive || !allDone())) instance.unmount();
      await exitedPromise;
    },
  };
}
