import type { RunEvent } from '../core/events.js';
import { type DashboardState, EMPTY_DASHBOARD, reduceEvent, withPhase } from './dashboard-state.js';

/**
 * The bridge between the reporter (pushes events) and React (reads snapshots through
 * useSyncExternalStore). Kept free of React so the reporter and tests can drive it directly.
 */
export interface DashboardStore {
  dispatch(event: RunEvent, runIndex: number): void;
  /** What the command is doing before its runs start (shown until the first run-start). */
  setPhase(text: string): void;
  getSnapshot(): DashboardState;
  subscribe(listener: () => void): () => void;
  /** Tells listeners about any state they have not seen yet, now. */
  flush(): void;
}

export interface DashboardStoreOptions {
  /**
   * Coalesce notifications: at most one per this many milliseconds. A run can emit thousands of
   * progress events a second and each notification re-renders the whole tree; the screen only
   * redraws ~30 times a second anyway. 0 notifies on every event (tests).
   */
  readonly notifyEveryMs?: number;
  readonly setTimer?: (callback: () => void, ms: number) => unknown;
}

export function createDashboardStore(options: DashboardStoreOptions = {}): DashboardStore {
  const { notifyEveryMs = 0, setTimer = (callback, ms) => setTimeout(callback, ms) } = options;
  let state: DashboardState = EMPTY_DASHBOARD;
  let notified = state;
  let timerPending = false;
  const listeners = new Set<() => void>();
  const notifySoon = (): void => {
    if (notifyEveryMs <= 0) flush();
    else if (!timerPending) {
      timerPending = true;
      setTimer(flush, notifyEveryMs);
    }
  };
  const flush = (): void => {
    timerPending = false;
    if (notified === state) return;
    notified = state;
    for (const listener of listeners) listener();
  };
  return {
    dispatch(event, runIndex) {
      state = reduceEvent(state, event, runIndex);
      // The end of a run is always shown at once; everything else may wait for the next tick.
      if (event.type === 'run-done') flush();
      else notifySoon();
    },
    setPhase(text) {
      state = withPhase(state, text);
      notifySoon();
    },
    getSnapshot: () => state,
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    flush,
  };
}
