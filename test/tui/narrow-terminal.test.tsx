import { cleanup, render } from 'ink-testing-library';
import { afterEach, describe, expect, test } from 'vitest';
import type { LayerReport } from '../../src/core/report.js';
import { Dashboard } from '../../src/tui/dashboard.js';
import { createDashboardStore } from '../../src/tui/dashboard-store.js';
import {
  formatCount,
  formatEnergyPj,
  formatPercent,
  formatPjPerMac,
  formatRatio,
} from '../../src/tui/format.js';
import {
  computeSpeedup,
  executedShare,
  pjPerMac,
  skippedTotal,
  speedup,
} from '../../src/tui/layer-metrics.js';
import { MIN_SIZE } from '../../src/tui/use-terminal-size.js';
import { loadRecordedEvents, plainFrame, settle, storeWith, tick } from './recorded-events.js';

afterEach(() => cleanup());

const events = loadRecordedEvents('replay-compare.ndjson');
const reportsOf = (runIndex: number): readonly LayerReport[] => {
  const done = events.find((e) => e.runIndex === runIndex && e.event.type === 'run-done');
  if (done?.event.type !== 'run-done') throw new Error('replay-compare.ndjson: no run-done');
  return done.event.report.layers;
};
const layersA = reportsOf(0);
const layersB = reportsOf(1);

async function mount(columns: number, rows: number, store = storeWith(events)) {
  const instance = render(<Dashboard store={store} expectedRuns={2} interactive />);
  await tick();
  Object.defineProperty(instance.stdout, 'columns', { get: () => columns, configurable: true });
  Object.defineProperty(instance.stdout, 'rows', { get: () => rows, configurable: true });
  instance.stdout.emit('resize');
  await tick();
  return { instance, frame: () => plainFrame(instance.lastFrame()) };
}

/** Every figure a layer's row may show, each split into its whitespace-separated tokens. */
function figureTokens(index: number): Set<string> {
  const texts = [String(index + 1)];
  for (const layer of [layersA[index]!, layersB[index]!]) {
    texts.push(
      layer.name,
      layer.op,
      formatCount(layer.macs),
      formatPercent(executedShare(layer)),
      formatCount(skippedTotal(layer.skippedMacs)),
      ...Object.values(layer.skippedMacs).map(formatCount),
      formatCount(layer.baselineCycles),
      formatCount(layer.cycles),
      formatRatio(speedup(layer)),
      formatRatio(computeSpeedup(layer)),
      formatEnergyPj(layer.energyPj.total),
      formatPjPerMac(pjPerMac(layer)),
    );
  }
  const a = layersA[index]!;
  const b = layersB[index]!;
  texts.push(formatRatio(b.cycles / a.cycles), formatRatio(b.energyPj.total / a.energyPj.total));
  return new Set(texts.flatMap((text) => text.split(/\s+/)));
}

/**
 * The frame's table rows (the lines naming a layer): every token must be a whole figure of that
 * layer (or a row marker), so a cut figure such as `20` for `20.5k` fails. Returns the rows checked.
 */
function expectWholeFigures(frame: string, width: number): number {
  const lines = frame.split('\n');
  for (const line of lines) expect([...line].length).toBeLessThanOrEqual(width);
  let rows = 0;
  for (const line of lines) {
    const match = /^[› ] +(\d+) (\S+)/.exec(line);
    if (!match) continue;
    const index = Number(match[1]) - 1;
    if (!layersA[index] || !layersA[index]!.name.startsWith(match[2]!.replace(/…$/, ''))) continue;
    rows++;
    const allowed = figureTokens(index);
    for (const token of line.split(/\s+/).filter((t) => t !== '')) {
      if (token === '›' || token === '✓' || token === '·' || /^[↑↓]\d+$/.test(token)) continue;
      // A name may be cut with an ellipsis; a figure never.
      if (token.endsWith('…') && layersA[index]!.name.startsWith(token.slice(0, -1))) continue;
      expect(allowed, `row ${index + 1} at width ${width}: "${token}" in "${line}"`).toContain(token);
    }
  }
  return rows;
}

describe.each([
  [80, 24],
  [40, 10],
])('at %i×%i', (columns, rows) => {
  test('the layer view drops whole columns; every shown figure is whole', async () => {
    const { frame } = await mount(columns, rows);
    const text = await settle(frame, (f) => f.includes('conv1'));
    expect(text.split('\n').length).toBeLessThan(rows);
    expect(expectWholeFigures(text, columns)).toBeGreaterThan(0);
    // The essential figure columns stay.
    expect(text).toMatch(/cycles/);
  });

  test('the compare view drops whole columns; cycles A and B stay whole', async () => {
    const { instance, frame } = await mount(columns, rows);
    instance.stdin.write('c');
    const text = await settle(frame, (f) => f.includes('cycles B'));
    expect(text.split('\n').length).toBeLessThan(rows);
    expect(expectWholeFigures(text, columns)).toBeGreaterThan(0);
    const conv1 = text.split('\n').find((line) => / 1 conv1/.test(line)) ?? '';
    expect(conv1).toContain(` ${formatCount(layersA[0]!.cycles)} `);
    expect(conv1).toMatch(new RegExp(` ${formatCount(layersB[0]!.cycles).replace('.', '\\.')}( |$)`));
  });
});

test('at 80×24 the compare view keeps ratios and energies; the rightmost low-priority column goes', async () => {
  const { instance, frame } = await mount(80, 24);
  instance.stdin.write('c');
  const text = await settle(frame, (f) => f.includes('cycles B'));
  expect(text).toMatch(/cycles A\s+cycles B\s+B\/A\s+energy A\s+energy B\s+B\/A/);
  expect(text).toContain('exec A');
  expect(text).not.toContain('exec B');
});

test('below the minimum size the dashboard is one line saying so', async () => {
  for (const [columns, rows] of [
    [MIN_SIZE.columns - 1, 24],
    [80, MIN_SIZE.rows - 1],
  ] as const) {
    const { frame } = await mount(columns, rows);
    const text = await settle(frame, (f) => f.includes('terminal too small'));
    expect(text.trim().split('\n')).toHaveLength(1);
    expect(text).toContain('terminal too small');
    expect([...text.trim()].length).toBeLessThanOrEqual(columns);
    cleanup();
  }
  // At exactly the minimum the dashboard draws.
  const { frame } = await mount(MIN_SIZE.columns, MIN_SIZE.rows);
  const text = await settle(frame, (f) => f.includes('conv1'));
  expect(text).not.toContain('terminal too small');
  expect(text.split('\n').length).toBeLessThan(MIN_SIZE.rows);
});

test('before the first run the frame says what is happening', async () => {
  const store = createDashboardStore();
  const { frame } = await mount(80, 24, store);
  expect(await settle(frame, (f) => f.includes('starting'))).toMatch(/deltasim: starting · \d+\.\d s/);
  store.setPhase('synthesizing trace synthetic:resnet18:0.5:64: step 3/64');
  expect(await settle(frame, (f) => f.includes('step 3/64'))).toContain(
    'synthesizing trace synthetic:resnet18:0.5:64: step 3/64',
  );
});
