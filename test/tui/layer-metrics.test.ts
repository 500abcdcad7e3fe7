import { fc, test } from '@fast-check/vitest';
import { expect } from 'vitest';
import { EMPTY_DASHBOARD, reduceEvent } from '../../src/tui/dashboard-state.js';
import { computeSpeedup, SORT_KEYS, sortRows, speedup } from '../../src/tui/layer-metrics.js';
import { loadRecordedEvents } from './recorded-events.js';

const replay = loadRecordedEvents('replay-small.ndjson');

/** The layer rows after the first `count` events (some done, some running, some pending). */
function rowsAfter(count: number) {
  const state = replay
    .slice(0, count)
    .reduce((s, { event, runIndex }) => reduceEvent(s, event, runIndex), EMPTY_DASHBOARD);
  return state.runs[0]?.layers ?? [];
}

test('speedup is dense over actual cycles', () => {
  expect(speedup({ cycles: 5000, baselineCycles: 8000 })).toBe(1.6);
  expect(computeSpeedup({ computeCycles: 4000, baselineComputeCycles: 8000 })).toBe(2);
});

test.prop([fc.integer({ min: 1, max: replay.length }), fc.constantFrom(...SORT_KEYS)])(
  'sorting is a permutation that puts unfinished layers last, in layer order',
  (count, key) => {
    const rows = rowsAfter(count);
    const sorted = sortRows(rows, key);
    expect([...sorted].map((row) => row.index).sort()).toEqual(rows.map((row) => row.index).sort());
    if (key === 'order' || key === 'macs') return;
    const firstUnfinished = sorted.findIndex((row) => !row.report);
    if (firstUnfinished >= 0) {
      const tail = sorted.slice(firstUnfinished);
      expect(tail.every((row) => !row.report)).toBe(true);
      expect(tail.map((row) => row.index)).toEqual([...tail.map((row) => row.index)].sort());
    }
  },
);
