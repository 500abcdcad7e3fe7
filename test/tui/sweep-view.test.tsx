import { cleanup, render } from 'ink-testing-library';
import { afterEach, expect, test } from 'vitest';
import type { SweepEvent, SweepObjective } from '../../src/tui/sweep-events.js';
import { EMPTY_SWEEP, reduceSweepEvent, type SweepState } from '../../src/tui/sweep-state.js';
import { SweepView } from '../../src/tui/sweep-view.js';
import { plainFrame, tick } from './recorded-events.js';

afterEach(() => cleanup());

const OBJECTIVES: readonly SweepObjective[] = [
  { metric: 'cycles', goal: 'min' },
  { metric: 'energyPj', goal: 'min' },
];

const POINTS: readonly SweepEvent[] = [
  {
    type: 'point-done',
    index: 0,
    params: { array: '16x16', dataflow: 'os' },
    metrics: { cycles: 9000, energyPj: 500 },
  },
  {
    type: 'point-done',
    index: 1,
    params: { array: '32x32', dataflow: 'os' },
    metrics: { cycles: 4000, energyPj: 900 },
  },
  // Dominated by #0 (more cycles and more energy).
  {
    type: 'point-done',
    index: 2,
    params: { array: '16x16', dataflow: 'ws' },
    metrics: { cycles: 9500, energyPj: 600 },
  },
  {
    type: 'point-done',
    index: 3,
    params: { array: '8x8', dataflow: 'is' },
    metrics: { cycles: 20000, energyPj: 300 },
  },
];

function stateAfter(events: readonly SweepEvent[]): SweepState {
  return events.reduce(reduceSweepEvent, EMPTY_SWEEP);
}

test('finished points print once above; the live area keeps best-so-far and the Pareto front', async () => {
  const instance = render(
    <SweepView state={stateAfter(POINTS.slice(0, 2))} objectives={OBJECTIVES} totalPoints={4} />,
  );
  await tick();
  instance.rerender(<SweepView state={stateAfter(POINTS)} objectives={OBJECTIVES} totalPoints={4} />);
  await tick();
  const last = plainFrame(instance.lastFrame());
  // Every point has its row once, above the live area, in arrival order.
  for (const index of [0, 1, 2, 3])
    expect(last.match(new RegExp(`#${index} {5}array=`, 'g'))).toHaveLength(1);
  expect(last.indexOf('#3     array=8x8 dataflow=is  →  cycles 20.0k  energyPj 300')).toBeLessThan(
    last.indexOf('Pareto front'),
  );
  expect(last).toContain('points 4/4');
  expect(last).toContain('best cycles (min): 4.00k  #1 array=32x32 dataflow=os');
  expect(last).toContain('best energyPj (min): 300  #3 array=8x8 dataflow=is');
  expect(last).toContain('Pareto front (3)');
  expect(last).not.toMatch(/ {2}#2 array=16x16 dataflow=ws/);
});

test('sweep-done replaces the progress with a summary', async () => {
  const instance = render(
    <SweepView state={stateAfter([...POINTS, { type: 'sweep-done', points: 4 }])} objectives={OBJECTIVES} />,
  );
  await tick();
  expect(plainFrame(instance.lastFrame())).toContain('sweep done: 4 points, 3 on the Pareto front');
});
