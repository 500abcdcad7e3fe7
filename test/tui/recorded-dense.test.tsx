import { readFileSync } from 'node:fs';
import { cleanup, render } from 'ink-testing-library';
import { afterEach, expect, test } from 'vitest';
import { Dashboard } from '../../src/tui/dashboard.js';
import { DENSE_RECORDING, recordDenseEvents, toNdjson } from '../golden/events/record-dense.js';
import { loadRecordedEvents, plainFrame, storeWith, tick } from './recorded-events.js';

afterEach(() => cleanup());

test('the dense recording is what the engine emits today', async () => {
  const recorded = readFileSync(new URL(`../golden/events/${DENSE_RECORDING}`, import.meta.url), 'utf8');
  // Stale? Re-record with `npx tsx test/golden/events/record-dense.ts` and check the diff.
  expect(toNdjson(await recordDenseEvents())).toBe(recorded);
});

test('a dense simulate run renders its layers, totals and the dense-only detail', async () => {
  const events = loadRecordedEvents(DENSE_RECORDING);
  const instance = render(<Dashboard store={storeWith(events)} expectedRuns={1} interactive />);
  await tick();
  Object.defineProperty(instance.stdout, 'columns', { get: () => 140 });
  Object.defineProperty(instance.stdout, 'rows', { get: () => 45 });
  instance.stdout.emit('resize');
  await tick();
  await tick();
  const frame = plainFrame(instance.lastFrame());
  expect(frame).toContain('deltasim simulate');
  expect(frame).toContain('topology resnet18.csv');
  expect(frame).toContain('hardware scalesim-default 32×32 OS int8');
  // conv1: 113 836 800 MACs, 158 422 cycles on 32×32 OS; energy through the replay memory model:
  // MAC 34.15 + register 47.81 + SRAM 36.26 + DRAM 151.83 = 270.05 µJ, 2.37 pJ per MAC.
  const conv1 = frame.split('\n').find((line) => / 1 conv1 /.test(line));
  expect(conv1).toMatch(/114M\s+100\.0%\s+0\s+158k\s+158k\s+1\.00×\s+1\.00×\s+270 µJ\s+2\.37\s+✓/);
  expect(frame).toContain('not measured (dense run)');
  // simulate sends the same step event as replay: a topology is one step, all of it executed.
  expect(frame).toContain('executed per step (1)');
  expect(frame).toContain('mean 100.0% min 100.0% max 100.0%');
  expect(frame).not.toContain('step 11');
  expect(frame.split('\n').length).toBeLessThan(45);
});
