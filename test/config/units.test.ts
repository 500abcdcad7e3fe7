import { describe, expect, test } from 'vitest';
import { parseQuantity, QuantityError, type QuantityKind } from '../../src/config/units.js';

describe('parseQuantity', () => {
  test.each<[string | number, QuantityKind, number]>([
    ['1 GHz', 'frequency', 1e9],
    ['800MHz', 'frequency', 8e8],
    ['64 KiB', 'bytes', 65536],
    ['64 kB', 'bytes', 64000],
    ['1 MiB', 'bytes', 1048576],
    ['512 bit', 'bytes', 64],
    ['0.2 pJ', 'energy', 0.2],
    ['1.5 nJ', 'energy', 1500],
    ['5 mW', 'power', 5],
    ['0.5 W', 'power', 500],
    ['8 pJ/bit', 'energyPerBit', 8],
    ['16 B/cycle', 'bytesPerCycle', 16],
    ['128 bit/cycle', 'bytesPerCycle', 16],
  ])('%s as %s → %d', async (text, kind, expected) => {
    expect(await parseQuantity(text, kind)).toBeCloseTo(expected, 9);
  });

  test.each<[string | number, QuantityKind, RegExp]>([
    ['3', 'bytes', /"3" has no unit/],
    [42, 'frequency', /42 has no unit/],
    ['1 GHz', 'bytes', /wrong dimension/],
    ['64 KB', 'bytes', /Unit "KB" not found/],
    ['fast', 'frequency', /not a number with a unit/],
    ['16 B', 'bytesPerCycle', /must be per cycle/],
    ['1 + 1', 'bytes', /not a number with a unit/],
  ])('%s as %s is refused', async (text, kind, message) => {
    await expect(parseQuantity(text, kind)).rejects.toThrow(message);
    await expect(parseQuantity(text, kind)).rejects.toBeInstanceOf(QuantityError);
  });

  test('the expression parser is unreachable: function calls and imports are not quantities', async () => {
    for (const text of ['import({}, {})', 'evaluate("1")', 'createUnit("x")', '2 m; createUnit("zz")']) {
      await expect(parseQuantity(text, 'bytes')).rejects.toBeInstanceOf(QuantityError);
    }
  });
});
