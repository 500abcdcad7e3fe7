import { fc, test } from '@fast-check/vitest';
import { expect } from 'vitest';
import { ceilDiv } from '../../src/core/ceil-div.js';

/** ⌈a / b⌉ in exact integers. */
const exact = (a: number, b: number): number => Number((BigInt(a) + BigInt(b) - 1n) / BigInt(b));

test.prop([
  fc.maxSafeNat(),
  fc.oneof(
    fc.integer({ min: 1, max: 64 }),
    fc.maxSafeNat().map((n) => n + 1),
  ),
])('ceilDiv is ⌈a / b⌉ exactly for every safe a ≥ 0 and b ≥ 1', (a, b) => {
  expect(ceilDiv(a, b)).toBe(exact(a, b));
});

test.prop([fc.nat(2 ** 20), fc.integer({ min: 1, max: 2 ** 12 })])(
  'small operands: Math.ceil(a / b)',
  (a, b) => {
    expect(ceilDiv(a, b)).toBe(Math.ceil(a / b));
  },
);

test('whole quotients, a remainder of one, and zero', () => {
  expect(ceilDiv(0, 7)).toBe(0);
  expect(ceilDiv(64, 32)).toBe(2);
  expect(ceilDiv(65, 32)).toBe(3);
  expect(ceilDiv(2 ** 53 - 1, 2)).toBe(2 ** 52);
  expect(ceilDiv(2 ** 53 - 1, 2 ** 53 - 2)).toBe(2);
});
