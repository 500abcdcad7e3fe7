import { fc, test } from '@fast-check/vitest';
import { expect } from 'vitest';
import { columnChart, downsample, sparkline } from '../../src/tui/sparkline.js';

test('a sparkline maps 0 to the lowest block and 1 to the full one', () => {
  expect(sparkline([0, 0.5, 1], 10)).toBe('▁▅█');
});

test('downsampling averages neighbouring steps', () => {
  expect(downsample([1, 0, 1, 0, 0.5, 0.5], 3)).toEqual([0.5, 0.5, 0.5]);
});

test('a column chart stacks eighths from the bottom line up', () => {
  expect(columnChart([4, 2, 0, 1], 2)).toEqual(['█   ', '██ ▄']);
});

test.prop([
  fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 300 }),
  fc.integer({ min: 1, max: 80 }),
])('a sparkline is never wider than asked and uses only block characters', (values, width) => {
  const line = sparkline(values, width);
  expect([...line].length).toBe(Math.min(values.length, width));
  expect(line).toMatch(/^[▁▂▃▄▅▆▇█]*$/);
});

test.prop([fc.array(fc.nat({ max: 1000 }), { minLength: 1, maxLength: 20 }), fc.integer({ min: 1, max: 6 })])(
  'a column chart has the asked height, each line as wide as the bins, and the largest bin reaches the top',
  (counts, height) => {
    const lines = columnChart(counts, height);
    expect(lines).toHaveLength(height);
    for (const line of lines) expect([...line].length).toBe(counts.length);
    const largest = Math.max(...counts);
    if (largest > 0) expect(lines[0]?.[counts.indexOf(largest)]).toBe('█');
  },
);
