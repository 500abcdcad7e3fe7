import { fc, test } from '@fast-check/vitest';
import { expect } from 'vitest';
import { fitColumns, layerColumns, nameWidthFor, rowWidth } from '../../src/tui/layer-columns.js';
import { SKIP_REASONS } from '../../src/tui/layer-metrics.js';

const all = layerColumns(SKIP_REASONS, 16);
const essential = all.filter((column) => column.priority === 0);

test('a wide terminal keeps every column', () => {
  expect(fitColumns(all, 400)).toEqual(all);
});

test.prop([fc.integer({ min: 20, max: 300 })])(
  'the kept columns fit the width (down to the essential ones) and keep their display order',
  (width) => {
    const kept = fitColumns(all, width);
    if (rowWidth(essential) <= width) expect(rowWidth(kept)).toBeLessThanOrEqual(width);
    const order = kept.map((column) => all.indexOf(column));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    for (const column of essential) expect(kept).toContain(column);
  },
);

test.prop([fc.integer({ min: 20, max: 300 }), fc.integer({ min: 20, max: 300 })])(
  'a wider terminal never shows fewer columns',
  (a, b) => {
    const [narrow, wide] = a <= b ? [a, b] : [b, a];
    expect(fitColumns(all, wide).length).toBeGreaterThanOrEqual(fitColumns(all, narrow).length);
  },
);

test('the name column fits the longest name, within 10 to 28 characters', () => {
  expect(nameWidthFor(['fc', 'layer2.0.downsample', 'conv1'])).toBe(19);
  expect(nameWidthFor(['fc'])).toBe(10);
  expect(nameWidthFor(['x'.repeat(40)])).toBe(28);
});
