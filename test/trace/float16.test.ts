import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { FLOAT16_MAX, float16BitsToFloat32, float32ToFloat16Bits } from '../../src/trace/float16.js';

describe('float16', () => {
  test('known encodings', () => {
    expect(float32ToFloat16Bits(1)).toBe(0x3c00);
    expect(float32ToFloat16Bits(-2)).toBe(0xc000);
    expect(float32ToFloat16Bits(FLOAT16_MAX)).toBe(0x7bff);
    expect(float32ToFloat16Bits(65520)).toBe(0x7c00); // rounds up to Infinity, as numpy does
    expect(float32ToFloat16Bits(2 ** -24)).toBe(0x0001);
    expect(float32ToFloat16Bits(2 ** -26)).toBe(0x0000);
    expect(float32ToFloat16Bits(-0)).toBe(0x8000);
    expect(float32ToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie to even
    expect(float32ToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
  });

  test('every finite half survives decode → encode', () => {
    const wrong: number[] = [];
    for (let bits = 0; bits < 65536; bits++) {
      if ((bits & 0x7c00) === 0x7c00) continue;
      if (float32ToFloat16Bits(float16BitsToFloat32(bits)) !== bits) wrong.push(bits);
    }
    expect(wrong).toEqual([]);
  });

  test.prop([fc.float({ noNaN: true, min: -65504, max: 65504 })])('encoding picks a nearest half', (x) => {
    const h = float16BitsToFloat32(float32ToFloat16Bits(x));
    const bits = float32ToFloat16Bits(x);
    // Neighbours one unit away on either side are never strictly nearer.
    for (const other of [bits - 1, bits + 1]) {
      if (other < 0 || (other & 0x7c00) === 0x7c00 || ((other ^ bits) & 0x8000) !== 0) continue;
      expect(Math.abs(float16BitsToFloat32(other) - x)).toBeGreaterThanOrEqual(Math.abs(h - x));
    }
  });
});
