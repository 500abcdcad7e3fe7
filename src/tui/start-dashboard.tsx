import { render } from 'ink';
import type { RunEvent } from '../core/events.js';
import type { Report } from '../core/report.js';
import { Dashboard } from './dashboard.js';
import { type DashboardState, isRunDone, startedRuns } from './dashboard-state.js';
import { createDashboardStore } from './dashboard-store.js';
import { FALLBACK_SIZE, isTooSmall } from './use-terminal-size.js';

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
  /**
   * The finished runs' reports as plain text, printed after the app ends when the terminal is too
   * small for the dashboard (its frame was one line saying so).
   */
  readonly plainSummary?: (reports: readonly Report[]) => string;
}

export interface DashboardHandle {
  onEvent(event: RunEvent, runIndex: number): void;
  onPhase(text: string): void;
  finish(): Promise<void>;
}

const terminalSize = (stdout: NodeJS.WriteStream) => ({
  columns: stdout.columns > 0 ? stdout.columns : FALLBACK_SIZE.columns,
  rows: stdout.rows > 0 ? stdout.rows : FALLBACK_SIZE.rows,
});

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
    onPhase(text) {
      if (!exited) store.setPhase(text);
    },
    async finish() {
      finishing = true;
      store.flush();
      if (!exited) await caughtUp();
      const tooSmall = isTooSmall(terminalSize(options.stdout));
      // Waiting for `q` is for browsing a finished result (impossible on a too-small terminal). A
      // command that stops before every run is done is failing: unmount now so its error is printed.
      if (!exited && (!options.interactive || !allDone() || tooSmall)) instance.unmount();
      await exitedPromise;
      if (tooSmall && options.plainSummary) {
        const reports = startedRuns(store.getSnapshot()).flatMap((run) => (run.report ? [run.report] : []));
        if (reports.length > 0) options.stdout.write(options.plainSummary(reports));
      }
    },
  };
}
