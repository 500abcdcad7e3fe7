import { cleanup, render } from 'ink-testing-library';
import { afterEach, expect, test } from 'vitest';
import { Dashboard } from '../../src/tui/dashboard.js';
import { loadRecordedEvents, plainFrame, storeWith, tick } from './recorded-events.js';

afterEach(() => cleanup());

const events = loadRecordedEvents('replay-compare.ndjson');

async function mount(count = events.length) {
  const instance = render(<Dashboard store={storeWith(events, count)} expectedRuns={2} interactive />);
  await tick();
  Object.defineProperty(instance.stdout, 'columns', { get: () => 140 });
  Object.defineProperty(instance.stdout, 'rows', { get: () => 45 });
  instance.stdout.emit('resize');
  await tick();
  return { instance, frame: () => plainFrame(instance.lastFrame()) };
}

test('c shows both hardware configurations side by side with per-layer ratios', async () => {
  const { instance, frame } = await mount();
  expect(frame()).toContain('c compare');
  instance.stdin.write('c');
  await tick();
  const text = frame();
  expect(text).toMatch(/A {2}sparse-16x16 16×16 OS int8 1\.00 GHz.*B {2}gate-32x32 32×32 WS int8 1\.20 GHz/);
  expect(text).toMatch(
    /cycles {3}17\.0k \(baseline 26\.0k, speedup 1\.53×, compute 1\.54×\).*cycles {3}11\.0k \(baseline 11\.0k, speedup 1\.00×, compute 1\.00×\)/,
  );
  // B gates instead of skipping: 3.30 M of 3.50 M MACs take a cycle; 727 375 pJ.
  expect(text).toMatch(/executed 53\.2% of 3\.50M MACs.*executed 94\.3% of 3\.50M MACs/);
  expect(text).toMatch(/energy {3}822 nJ · 0\.23 pJ\/MAC.*energy {3}727 nJ · 0\.21 pJ\/MAC/);
  // conv1: 5 000 vs 3 000 cycles (0.60×); 216 250 vs 131 250 + 3 375 + 60 000 = 194 625 pJ (0.90×).
  expect(text).toMatch(/1 conv1\s+5\.00k\s+3\.00k\s+0\.60×\s+216 nJ\s+195 nJ\s+0\.90×\s+43\.8%\s+100\.0%/);
  expect(text).toContain('c layers');
  instance.stdin.write('c');
  await tick();
  expect(frame()).toContain('lane work / busiest lane');
});

test('tab shows the second run in the layer view', async () => {
  const { instance, frame } = await mount();
  expect(frame()).toContain('run 1/2');
  instance.stdin.write('\t');
  await tick();
  expect(frame()).toContain('run 2/2');
  expect(frame()).toContain('hardware gate-32x32 32×32 WS int8 1.20 GHz');
  // Gating keeps every cycle: the energy breakdown shows the gated MACs' share.
  expect(frame()).toMatch(/gated MAC\s+\S+\s+1\.7%\s+3\.38 nJ/);
});

test('while the second run has not started, B waits', async () => {
  // Run 0 complete (20 events), nothing of run 1.
  const { instance, frame } = await mount(20);
  instance.stdin.write('c');
  await tick();
  expect(frame()).toContain('B: waiting for the second run…');
  expect(frame()).toContain('RUNNING');
});
