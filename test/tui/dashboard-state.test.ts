import { expect, test } from 'vitest';
import { EMPTY_DASHBOARD, reduceEvent, runProgressFraction } from '../../src/tui/dashboard-state.js';
import { createDashboardStore } from '../../src/tui/dashboard-store.js';
import { loadRecordedEvents } from './recorded-events.js';

const compare = loadRecordedEvents('replay-compare.ndjson');

function stateAfter(count: number) {
  return compare
    .slice(0, count)
    .reduce((s, { event, runIndex }) => reduceEvent(s, event, runIndex), EMPTY_DASHBOARD);
}

test('progress by MACs grows monotonically to 1 and the per-step fractions are kept in order', () => {
  let previous = 0;
  for (let count = 1; count <= 20; count++) {
    const run = stateAfter(count).runs[0]!;
    const progress = runProgressFraction(run);
    expect(progress).toBeGreaterThanOrEqual(previous);
    previous = progress;
  }
  expect(previous).toBe(1);
  expect(stateAfter(20).runs[0]?.layers[0]?.executedFractions).toEqual([1, 0.3, 0.25, 0.2]);
});

test('runs are kept apart by runIndex', () => {
  const state = stateAfter(compare.length);
  expect(state.runs.map((run) => run?.hardware.name)).toEqual(['sparse-16x16', 'gate-32x32']);
  expect(state.runs[1]?.report?.total.cycles).toBe(11000);
  expect(state.runs[0]?.report?.total.cycles).toBe(17000);
});

test('events of a run never started are ignored', () => {
  expect(reduceEvent(EMPTY_DASHBOARD, { type: 'layer-start', index: 0, name: 'x' }, 3)).toBe(EMPTY_DASHBOARD);
});

test('a coalescing store notifies once per interval, and at once for run-done', () => {
  const timers: (() => void)[] = [];
  const store = createDashboardStore({ notifyEveryMs: 33, setTimer: (callback) => timers.push(callback) });
  let notified = 0;
  store.subscribe(() => notified++);
  for (const { event, runIndex } of compare.slice(0, 10)) store.dispatch(event, runIndex);
  expect(notified).toBe(0);
  expect(timers).toHaveLength(1);
  timers[0]!();
  expect(notified).toBe(1);
  for (const { event, runIndex } of compare.slice(10, 20)) store.dispatch(event, runIndex);
  // compare[19] is run 0's run-done.
  expect(notified).toBe(2);
  expect(store.getSnapshot().runs[0]?.report).toBeDefined();
});
