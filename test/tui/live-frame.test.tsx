import { cleanup, render } from 'ink-testing-library';
import { afterEach, expect, test } from 'vitest';
import { Dashboard } from '../../src/tui/dashboard.js';
import { loadRecordedEvents, plainFrame, settle, storeWith, tick } from './recorded-events.js';

afterEach(() => cleanup());

const replay = loadRecordedEvents('replay-small.ndjson');
const elapsedShown = (frame: string): string | undefined => /· (\d+\.\d s)/.exec(frame)?.[1];

async function mount(count: number) {
  const instance = render(<Dashboard store={storeWith(replay, count)} expectedRuns={1} interactive />);
  await tick();
  return () => plainFrame(instance.lastFrame());
}

test('while a run is going the frame moves on its own (the elapsed clock), with no new event', async () => {
  const frame = await mount(6);
  const first = await settle(frame, (f) => elapsedShown(f) !== undefined);
  const shown = elapsedShown(first);
  expect(shown).toBeDefined();
  const later = await settle(frame, (f) => elapsedShown(f) !== shown, 300);
  expect(elapsedShown(later)).not.toBe(shown);
  expect(later).toContain('RUNNING');
});

test('once the run is done the clock stops', async () => {
  const frame = await mount(replay.length);
  const first = await settle(frame, (f) => f.includes('DONE'));
  await tick(700);
  expect(elapsedShown(frame())).toBe(elapsedShown(first));
});
