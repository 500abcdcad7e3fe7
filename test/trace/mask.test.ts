import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { maskBit, maskBytes, maskMatches, packMask, popcountMask, unpackMask } from '../../src/trace/mask.js';

const values = fc
  .array(fc.oneof(fc.constant(0), fc.constant(-0), fc.float({ noNaN: true })), { maxLength: 300 })
  .map((a) => Float32Array.from(a));

describe('packMask (numpy.packbits(x != 0, bitorder="little"))', () => {
  test('known bytes', () => {
    expect(packMask(Float32Array.from([1, 0, 0, 2, 0, 0, 0, 3, 4]))).toEqual(
      Uint8Array.from([0b10001001, 1]),
    );
    expect(packMask(Float32Array.from([-0, 0]))).toEqual(Uint8Array.from([0]));
    expect(packMask(new Float32Array(0))).toEqual(new Uint8Array(0));
  });

  test.prop([values])('bit i is set iff x[i] != 0; padding bits are zero', (x) => {
    const mask = packMask(x);
    expect(mask.length).toBe(maskBytes(x.length));
    for (let i = 0; i < x.length; i++) expect(maskBit(mask, i)).toBe(x[i] !== 0);
    for (let i = x.length; i < mask.length * 8; i++) expect(maskBit(mask, i)).toBe(false);
  });

  test.prop([values])('unpack inverts pack; popcount counts non-zeros', (x) => {
    const mask = packMask(x);
    expect(Array.from(unpackMask(mask, x.length))).toEqual(Array.from(x, (v) => (v !== 0 ? 1 : 0)));
    const nonZero = x.reduce((n, v) => n + (v !== 0 ? 1 : 0), 0);
    expect(popcountMask(mask)).toBe(nonZero);
    expect(popcountMask(mask, x.length)).toBe(nonZero);
    expect(maskMatches(mask, x)).toBe(true);
  });

  test.prop([fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.nat(512), fc.nat(3)])(
    'popcount over an unaligned view with a length limit equals a bit-by-bit count',
    (bytes, rawLength, offset) => {
      const buffer = new Uint8Array(bytes.length + offset);
      buffer.set(bytes, offset);
      const view = buffer.subarray(offset);
      const length = Math.min(rawLength, view.length * 8);
      let expected = 0;
      for (let i = 0; i < length; i++) expected += maskBit(view, i) ? 1 : 0;
      expect(popcountMask(view, length)).toBe(expected);
    },
  );
});
