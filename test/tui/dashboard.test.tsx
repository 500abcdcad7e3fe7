import { cleanup, render } from 'ink-testing-library';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { Dashboard } from '../../src/tui/dashboard.js';
import { loadRecordedEvents, plainFrame, settle, storeWith, tick } from './recorded-events.js';

const ARROW_DOWN = '\u001B[B';
const ARROW_UP = '\u001B[A';

afterEach(() => cleanup());

const replay = loadRecordedEvents('replay-small.ndjson');

async function mount(count = replay.length, interactive = true, onQuit?: () => void) {
  const store = storeWith(replay, count);
  const instance = render(
    <Dashboard store={store} expectedRuns={1} interactive={interactive} {...(onQuit ? { onQuit } : {})} />,
  );
  // The size hook subscribes to `resize` in an effect: let it mount first.
  await tick();
  resize(instance, 140);
  await tick();
  await tick();
  return { store, instance, frame: () => plainFrame(instance.lastFrame()) };
}

/** ink-testing-library's stdout is 100 columns wide and has no rows; tmux runs 140 × 45. */
function resize(instance: ReturnType<typeof render>, columns: number, rows = 45): void {
  Object.defineProperty(instance.stdout, 'columns', { get: () => columns, configurable: true });
  Object.defineProperty(instance.stdout, 'rows', { get: () => rows, configurable: true });
  instance.stdout.emit('resize');
}

function selectedLine(frame: string): string {
  return frame.split('\n').find((line) => line.startsWith('› ')) ?? '';
}

describe('dashboard on a finished replay', () => {
  test('the header names the trace, model, hardware and backend', async () => {
    const { frame } = await mount();
    await tick();
    const text = frame();
    expect(text).toContain('deltasim replay');
    expect(text).toContain('trace dal-video-small.safetensors');
    expect(text).toContain('model dal-video-cnn');
    expect(text).toContain('hardware sparse-16x16 16×16 OS int8 1.00 GHz');
    expect(text).toContain('backend sparse replay');
    expect(text).toContain('DONE');
  });

  test('the layer table shows each layer’s figures', async () => {
    const { frame } = await mount();
    await tick();
    const conv1 = frame()
      .split('\n')
      .find((line) => line.includes('conv1'));
    // 1.00M MACs, 43.8 % executed, skipped 200k act / 363k delta, 8.00k baseline vs 5.00k cycles,
    // 1.60× speedup, compute 8000 / 4900 = 1.63×, 216 nJ, 0.22 pJ/MAC (216 250 pJ / 1 000 000 MACs).
    expect(conv1).toMatch(
      /1\.00M\s+43\.8%\s+200k\s+0\s+363k\s+0\s+8\.00k\s+5\.00k\s+1\.60×\s+1\.63×\s+216 nJ\s+0\.22\s+✓/,
    );
    const header = frame()
      .split('\n')
      .find((line) => line.includes('# layer'));
    expect(header).toMatch(
      /skip act\s+skip wgt\s+skip Δ\s+skip str\s+base cyc\s+cycles\s+speedup\s+cmp spd\s+energy\s+pJ\/MAC/,
    );
  });

  test('the totals line sums the run', async () => {
    const { frame } = await mount();
    await tick();
    expect(frame()).toContain('cycles 17.0k (baseline 26.0k, speedup 1.53×, compute 1.54×)');
    expect(frame()).toContain('executed 53.2% of 3.50M MACs');
    expect(frame()).toContain('energy 822 nJ');
    expect(frame()).toContain('100.0% of MACs');
  });

  test('the detail pane shows the selected layer’s energy bars, step strip and lane histogram', async () => {
    const { frame } = await mount();
    await tick();
    const text = frame();
    expect(text).toContain('1. conv1 (conv2d, 1.00M MACs)');
    expect(text).toContain('energy 216 nJ · 0.22 pJ/MAC');
    // MAC 131 250 of 216 250 pJ = 60.7 %; SRAM 60 000 = 27.7 %.
    expect(text).toMatch(/MAC\s+\S+\s+60\.7%\s+131 nJ/);
    expect(text).toMatch(/SRAM\s+\S+\s+27\.7%\s+60\.0 nJ/);
    expect(text).toContain('executed per step (4)');
    expect(text).toContain('mean 43.8% min 20.0% max 100.0%');
    expect(text).toContain('lane work / busiest lane');
    // 100 (fold, lane) pairs; mean of bin centres (1·.25 + 3·.35 + … + 41·.95) / 100 = 79.4 %.
    expect(text).toContain('100 lane·folds, mean 79.4%');
    // Bars settle on their box's width (28 = 56 − label 12 − figures 16).
    const barLine = /MAC {9}[█░]{28} {2}60\.7%/;
    expect(await settle(frame, (value) => barLine.test(value))).toMatch(barLine);
  });
});

describe('keys', () => {
  test('↓ and j move the selection, ↑ and k move it back', async () => {
    const { instance, frame } = await mount();
    await tick();
    expect(selectedLine(frame())).toContain('conv1');
    instance.stdin.write(ARROW_DOWN);
    await tick();
    expect(selectedLine(frame())).toContain('conv2');
    expect(frame()).toContain('2. conv2 (conv2d, 2.00M MACs)');
    instance.stdin.write('j');
    await tick();
    expect(selectedLine(frame())).toContain('attn.scores');
    instance.stdin.write('j');
    await tick();
    expect(selectedLine(frame())).toContain('attn.scores');
    instance.stdin.write(ARROW_UP);
    await tick();
    instance.stdin.write('k');
    await tick();
    expect(selectedLine(frame())).toContain('conv1');
  });

  test('s cycles the sort column, marks it and reorders the rows; the selection follows its layer', async () => {
    const { instance, frame } = await mount();
    await tick();
    const order = (): string[] =>
      frame()
        .split('\n')
        .filter((line) => /^. +\d+ (conv1|conv2|attn\.scores) /.test(line))
        .map((line) => line.match(/conv1|conv2|attn\.scores/)?.[0] ?? '');
    expect(order()).toEqual(['conv1', 'conv2', 'attn.scores']);
    instance.stdin.write('s');
    await tick();
    expect(frame()).toContain('cycles▼');
    expect(frame()).toContain('s sort (cycles ↓)');
    expect(order()).toEqual(['conv2', 'conv1', 'attn.scores']);
    expect(selectedLine(frame())).toContain('conv1');
    instance.stdin.write('s');
    await tick();
    // Speedup: conv2 1.67×, conv1 1.60×, attn 1.00×.
    expect(frame()).toContain('speedup▼');
    expect(order()).toEqual(['conv2', 'conv1', 'attn.scores']);
    instance.stdin.write('s');
    await tick();
    // Energy: conv2 521 nJ, conv1 216 nJ, attn 85 nJ.
    expect(frame()).toContain('energy▼');
    instance.stdin.write('s');
    await tick();
    // Executed share, smallest first: conv1 43.8 %, attn 50 %, conv2 58.8 %.
    expect(frame()).toContain('exec▼');
    expect(order()).toEqual(['conv1', 'attn.scores', 'conv2']);
  });

  test('q quits, calls onQuit and leaves the final frame', async () => {
    const onQuit = vi.fn();
    const { instance, store, frame } = await mount(replay.length, true, onQuit);
    await tick();
    instance.stdin.write('j');
    await tick();
    const before = frame();
    instance.stdin.write('q');
    await tick();
    expect(onQuit).toHaveBeenCalledTimes(1);
    expect(frame()).toBe(before);
    expect(frame()).toContain('2. conv2');
    // Nothing redraws after the quit.
    store.dispatch(replay[0]!.event, 0);
    await tick();
    expect(frame()).toBe(before);
  });

  test('without a keyboard the help line shows no keys', async () => {
    const { frame } = await mount(replay.length, false);
    await tick();
    expect(frame()).toContain('sorted by layer order');
    expect(frame()).not.toContain('q quit');
  });
});

describe('live', () => {
  test('mid-run: finished layers have figures, the running one shows its progress', async () => {
    // run-start, conv1 (start, 4 progress, done), conv2 start + 2 progress.
    const { frame } = await mount(1 + 6 + 3);
    await tick();
    const text = frame();
    expect(text).toContain('RUNNING');
    expect(text).toContain('layers 1/3');
    expect(text).toContain('2. conv2');
    expect(text).toContain('2/4 steps');
    // (1 M done + 2 M × 2/4) / 3.5 M = 57.1 %.
    expect(text).toContain('57.1% of MACs');
    const conv2 = text.split('\n').find((line) => /^. +2 conv2 /.test(line));
    expect(conv2).toMatch(/50%\s*$/);
    const attn = text.split('\n').find((line) => /^. +3 attn\.scores /.test(line));
    expect(attn).toMatch(/·\s*$/);
    expect(text).toContain('q stop');
  });

  test('frames fill in as events arrive', async () => {
    const { store, instance, frame } = await mount(1);
    await tick();
    expect(frame()).toContain('0.0% of MACs');
    for (const { event, runIndex } of replay.slice(1)) store.dispatch(event, runIndex);
    await tick();
    expect(frame()).toContain('100.0% of MACs');
    expect(instance.frames.length).toBeGreaterThan(2);
  });
});

describe('resize', () => {
  test('a narrower terminal drops low-priority columns instead of wrapping', async () => {
    const { instance, frame } = await mount();
    await tick();
    expect(frame()).toContain('skip act');
    resize(instance, 72);
    await tick();
    const lines = frame().split('\n');
    for (const line of lines) expect([...line].length).toBeLessThanOrEqual(72);
    expect(frame()).not.toContain('skip act');
    expect(frame()).toContain('cycles');
    expect(frame()).toContain('energy');
    expect(frame()).toContain('conv2');
  });

  test('a short terminal hides the detail pane and keeps the frame within its height', async () => {
    const { instance, frame } = await mount();
    await tick();
    resize(instance, 140, 14);
    await tick();
    expect(frame()).not.toContain('lane work');
    expect(frame().split('\n').length).toBeLessThan(14);
  });
});
