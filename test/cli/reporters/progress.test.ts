import { expect, test } from 'vitest';
import { withProgressLines } from '../../../src/cli/reporters/progress.js';
import type { Reporter } from '../../../src/cli/reporters/reporter.js';
import type { RunEvent } from '../../../src/core/events.js';
import { loadRecordedEvents } from '../../tui/recorded-events.js';

function harness(intervalMs = 3000, expectedRuns = 1) {
  let nowMs = 1000;
  const lines: string[] = [];
  const seen: RunEvent[] = [];
  const inner: Reporter = { onEvent: (event) => seen.push(event), finish: async () => {} };
  const reporter = withProgressLines(inner, {
    stderr: { write: (chunk: string) => lines.push(chunk) },
    now: () => nowMs,
    intervalMs,
    expectedRuns,
  });
  return {
    reporter,
    lines,
    seen,
    advance: (ms: number) => {
      nowMs += ms;
    },
  };
}

const replay = loadRecordedEvents('replay-small.ndjson');

test('a short run prints no progress lines and passes every event through', () => {
  const { reporter, lines, seen } = harness();
  for (const { event, runIndex } of replay) reporter.onEvent(event, runIndex);
  expect(lines).toEqual([]);
  expect(seen).toHaveLength(replay.length);
});

test('a long run prints where it is, at most once per interval', () => {
  const { reporter, lines, advance } = harness(3000);
  // One simulated second per event: 20 events span 19 s.
  for (const { event, runIndex } of replay) {
    reporter.onEvent(event, runIndex);
    advance(1000);
  }
  // Lines at 3, 6, 9, 12, 15, 18 s (run-done itself prints none).
  expect(lines).toHaveLength(6);
  // At 3 s: conv1 (1 M of 3.5 M MACs) at 2/4 steps → 0.5 M / 3.5 M = 14.3 %.
  expect(lines[0]).toBe('deltasim: layer 1/3 conv1 · 14.3% of MACs · 3.0 s\n');
  // At 9 s: conv1 done, conv2 started with 2 of 4 steps → (1 + 1) / 3.5 = 57.1 %.
  expect(lines[2]).toBe('deltasim: layer 2/3 conv2 · 57.1% of MACs · 9.0 s\n');
});

test('several runs are numbered', () => {
  const { reporter, lines, advance } = harness(1000, 2);
  reporter.onEvent(replay[0]!.event, 1);
  advance(1500);
  reporter.onEvent(replay[1]!.event, 1);
  expect(lines).toEqual(['deltasim: run 2/2 · layer 1/3 conv1 · 0.0% of MACs · 1.5 s\n']);
});

test('a long synthesis before the first run says where it is, once per interval', () => {
  const { reporter, lines, advance } = harness(3000);
  for (let step = 1; step <= 8; step++) {
    reporter.onPhase?.(`synthesizing trace synthetic:resnet18:0.5:8: step ${step}/8`);
    advance(1000);
  }
  expect(lines).toEqual([
    'deltasim: synthesizing trace synthetic:resnet18:0.5:8: step 4/8 · 3.0 s\n',
    'deltasim: synthesizing trace synthetic:resnet18:0.5:8: step 7/8 · 6.0 s\n',
  ]);
});
