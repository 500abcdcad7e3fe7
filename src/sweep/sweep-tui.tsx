import { render } from 'ink';
import type { SweepEvent, SweepObjective } from '../tui/sweep-events.js';
import { EMPTY_SWEEP, reduceSweepEvent, type SweepState } from '../tui/sweep-state.js';
import { SweepView } from '../tui/sweep-view.js';

/** Redraws at most this often, however fast points finish. */
const REDRAW_MS = 100;

export interface SweepTuiHandle {
  onEvent(event: SweepEvent): void;
  finish(): Promise<void>;
}

/** Mounts the sweep view on `stdout` and feeds it the sweep's events. */
export function startSweepTui(
  stdout: NodeJS.WriteStream,
  objectives: readonly SweepObjective[],
  totalPoints: number,
): SweepTuiHandle {
  let state: SweepState = EMPTY_SWEEP;
  const view = () => <SweepView state={state} objectives={objectives} totalPoints={totalPoints} />;
  const app = render(view(), { stdout, patchConsole: false, exitOnCtrlC: false });
  let timer: NodeJS.Timeout | undefined;
  const redraw = (): void => {
    timer = undefined;
    app.rerender(view());
  };
  return {
    onEvent(event) {
      state = reduceSweepEvent(state, event);
      timer ??= setTimeout(redraw, REDRAW_MS);
    },
    async finish() {
      if (timer) clearTimeout(timer);
      redraw();
      app.unmount();
      await app.waitUntilExit();
    },
  };
}
