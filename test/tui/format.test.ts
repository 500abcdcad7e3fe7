import { expect, test } from 'vitest';
import { formatCount, formatEnergyPj, formatPercent, formatRatio, truncate } from '../../src/tui/format.js';

test.each([
  [0, '0'],
  [999, '999'],
  [1000, '1.00k'],
  [113_836_800, '114M'],
  [1_468_006_400, '1.47G'],
  [999_600, '1.00M'],
])('formatCount(%d) = %s', (value, text) => {
  expect(formatCount(value)).toBe(text);
});

test('energies, shares and ratios keep three figures and their unit', () => {
  expect(formatEnergyPj(216_250)).toBe('216 nJ');
  expect(formatEnergyPj(34_151_040)).toBe('34.2 µJ');
  expect(formatPercent(0.4375)).toBe('43.8%');
  expect(formatRatio(1.6)).toBe('1.60×');
  expect(formatRatio(Number.NaN)).toBe('–');
  expect(truncate('layer2.0.downsample', 10)).toBe('layer2.0.…');
});
