import { fc, test } from '@fast-check/vitest';
import { expect } from 'vitest';
import {
  fitColumns,
  layerColumns,
  NAME_WIDTH_FLOOR,
  nameWidthFor,
  rowWidth,
} from '../../src/tui/layer-columns.js';
import { SKIP_REASONS } from '../../src/tui/layer-metrics.js';

const all = layerColumns(SKIP_REASONS, 16);
const essential = all.filter((column) => column.priority === 0);
const ids = (columns: readonly { id: string }[]): string[] => columns.map((column) => column.id);
/** The essential columns with the name at its narrowest: below this width nothing more can give. */
const narrowest = rowWidth(essential) - 16 + NAME_WIDTH_FLOOR;

test('a wide terminal keeps every column', () => {
  expect(fitColumns(all, 400)).toEqual(all);
});

test.prop([fc.integer({ min: 20, max: 300 })])(
  'the kept columns fit the width (down to the essential ones) and keep their display order',
  (width) => {
    const kept = fitColumns(all, width);
    if (narrowest <= width) expect(rowWidth(kept)).toBeLessThanOrEqual(width);
    const order = kept.map((column) => ids(all).indexOf(column.id));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    for (const column of essential) expect(ids(kept)).toContain(column.id);
    // Only the name gives way; every figure column keeps the width its figures need.
    for (const column of kept)
      if (column.id !== 'name') expect(column.width).toBe(all.find((c) => c.id === column.id)?.width);
  },
);

test.prop([fc.integer({ min: 20, max: 300 }), fc.integer({ min: 20, max: 300 })])(
  'a wider terminal never shows fewer columns',
  (a, b) => {
    const [narrow, wide] = a <= b ? [a, b] : [b, a];
    expect(fitColumns(all, wide).length).toBeGreaterThanOrEqual(fitColumns(all, narrow).length);
  },
);

test('columns go one at a time, lowest priority and rightmost first, after the name narrows to 10', () => {
  const wide = fitColumns(all, rowWidth(all) - 1);
  expect(wide.find((column) => column.id === 'name')?.width).toBeLessThan(16);
  expect(ids(wide)).toEqual(ids(all));
  const lowest = Math.max(...all.map((column) => column.priority));
  const rightmostLowest = all.findLast((column) => column.priority === lowest)!;
  const fewer = fitColumns(all, rowWidth(all) - 6 - 1);
  expect(ids(fewer)).toEqual(ids(all).filter((id) => id !== rightmostLowest.id));
});

test('the name column fits the longest name, within 10 to 28 characters', () => {
  expect(nameWidthFor(['fc', 'layer2.0.downsample', 'conv1'])).toBe(19);
  expect(nameWidthFor(['fc'])).toBe(10);
  expect(nameWidthFor(['x'.repeat(40)])).toBe(28);
});
