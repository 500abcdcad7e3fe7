/**
 * IEEE 754 binary16 ⇄ binary32 without Float16Array (Node 20 has none). Encoding rounds to nearest,
 * ties to even, exactly as numpy's `astype(np.float16)`; decoding is exact.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Largest finite binary16 value. */
export const FLOAT16_MAX = 65504;

/** Bits of the binary16 nearest to `value` (±Infinity past the range, NaN stays NaN). */
export function float32ToFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 | (mantissa >>> 13) : 0);
  // Unbiased exponent, rebiased for binary16 (bias 15).
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal in binary16 (or underflow to zero): shift the implicit 1 in, round to nearest even.
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mantissa & ((1 << shift) - 1);
    let result = mantissa >>> shift;
    if (rest > half || (rest === half && (result & 1) === 1)) result += 1;
    return sign | result;
  }
  let result = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (up to Infinity).
  if (rest > 0x1000 || (rest === 0x1000 && (result & 1) === 1)) result += 1;
  return sign | result;
}

let decodeTable: Float32Array | undefined;

/** All 65536 binary16 values as f32, built once: decoding is then one indexed load per element. */
function table(): Float32Array {
  if (decodeTable) return decodeTable;
  const t = new Float32Array(65536);
  for (let bits = 0; bits < 65536; bits++) {
    const sign = bits & 0x8000 ? -1 : 1;
    const exponent = (bits >>> 10) & 0x1f;
    const mantissa = bits & 0x3ff;
    let value: number;
    if (exponent === 0) value = sign * mantissa * 2 ** -24;
    else if (exponent === 0x1f) value = mantissa ? Number.NaN : sign * Number.POSITIVE_INFINITY;
    else value = sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
    t[bits] = value;
  }
  decodeTable = t;
  return t;
}

export function float16BitsToFloat32(bits: number): number {
  return table()[bits & 0xffff]!;
}

/** Encodes a whole array; returns the bits. */
export function encodeFloat16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = float32ToFloat16Bits(values[i]!);
  return out;
}

/** Decodes a whole array of bits into f32. */
export function decodeFloat16(bits: Uint16Array, out = new Float32Array(bits.length)): Float32Array {
  const t = table();
  for (let i = 0; i < bits.length; i++) out[i] = t[bits[i]!]!;
  return out;
}
