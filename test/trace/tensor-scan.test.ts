import { crc32 } from 'node:zlib';
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { createPrng } from '../../src/common/prng.js';
import { decodeFloat16 } from '../../src/trace/float16.js';
import { packMask } from '../../src/trace/mask.js';
import {
  borrowKernelBuffer,
  crc32OfZeros,
  type FiniteCheck,
  FOLD_DEGREE,
  FOLD_TERMS,
  firstNonFinite,
  KERNEL_BUFFER_BYTES,
  MIN_FOLD_BYTES,
  rawMaskMatches,
  scanTensor,
  scanTensorPortable,
  xPowModP,
} from '../../src/trace/tensor-scan.js';

function randomBytes(seed: number, length: number): Uint8Array {
  const prng = createPrng(seed);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(prng.next() * 256);
  return out;
}

/** Finite little-endian values of `dtype` (random bits with the exponent kept below all-ones). */
function finiteValues(seed: number, length: number, dtype: FiniteCheck): Uint8Array {
  const bytes = randomBytes(seed, length);
  const view = new DataView(bytes.buffer);
  if (dtype === 'F32') {
    for (let i = 0; i + 4 <= length; i += 4) view.setUint32(i, view.getUint32(i, true) & 0xbfffffff, true);
  } else {
    for (let i = 0; i + 2 <= length; i += 2) view.setUint16(i, view.getUint16(i, true) & 0xbfff, true);
  }
  return bytes;
}

/** Sets element `index` to NaN, +Inf or −Inf (any payload) in place. */
function poison(bytes: Uint8Array, dtype: FiniteCheck, index: number, payload: number): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dtype === 'F32') view.setUint32(4 * index, (0x7f800000 | (payload & 0x807fffff)) >>> 0, true);
  else view.setUint16(2 * index, 0x7c00 | (payload & 0x83ff), true);
}

// Lengths around the fold's threshold and past one kernel chunk (256 KiB), not just multiples of 16.
const length = fc.oneof(
  fc.integer({ min: 0, max: 4096 }),
  fc.integer({ min: MIN_FOLD_BYTES - 64, max: MIN_FOLD_BYTES + 64 }),
  fc.integer({ min: MIN_FOLD_BYTES, max: 700_000 }),
);
const dtype = fc.constantFrom<FiniteCheck>('F32', 'F16');

describe('CRC-32 arithmetic', () => {
  test(`R(y) = y^${FOLD_DEGREE} + ${FOLD_TERMS.map((e) => `y^${e}`).join(' + ')} + 1, y = x^128, is a multiple of the CRC-32 polynomial`, () => {
    let sum = 0;
    for (const e of [FOLD_DEGREE, ...FOLD_TERMS, 0]) sum ^= xPowModP(e, 7);
    expect(sum).toBe(0);
  });

  test.prop([fc.integer({ min: 0, max: 200_000 })])('crc32OfZeros equals zlib on zeros', (n) => {
    expect(crc32OfZeros(n)).toBe(crc32(new Uint8Array(n)));
  });
});

describe('scanTensor', () => {
  test('the WebAssembly kernel is available here, so the fast path is what these tests exercise', () => {
    const borrowed = borrowKernelBuffer();
    expect(borrowed).toBeDefined();
    borrowed?.release();
  });

  test.prop([fc.nat(), length, fc.integer({ min: 0, max: 15 })], { numRuns: 150 })(
    'CRC-32 equals zlib.crc32 for any bytes at any offset',
    (seed, n, offset) => {
      const bytes = randomBytes(seed, n + offset).subarray(offset);
      expect(scanTensor(bytes, { crc32: true }).crc32).toBe(crc32(bytes));
    },
  );

  test.prop([fc.nat(), length, dtype], { numRuns: 150 })(
    'finiteness of random bits agrees with the scalar reference',
    (seed, n, d) => {
      const bytes = randomBytes(seed, n);
      const reference = scanTensorPortable(bytes, { crc32: true, finite: d });
      expect(scanTensor(bytes, { crc32: true, finite: d })).toEqual(reference);
      expect(scanTensor(bytes, { crc32: false, finite: d })).toEqual({ finite: reference.finite });
    },
  );

  test.prop([fc.nat(), length, dtype, fc.double({ min: 0, max: 1, noNaN: true }), fc.nat()], {
    numRuns: 200,
  })('one NaN or Inf anywhere is found, with and without the checksum', (seed, n, d, at, payload) => {
    const bytes = finiteValues(seed, n, d);
    const width = d === 'F32' ? 4 : 2;
    const count = Math.floor(n / width);
    expect(scanTensor(bytes, { crc32: true, finite: d }).finite).toBe(true);
    expect(scanTensor(bytes, { crc32: false, finite: d }).finite).toBe(true);
    if (count === 0) return;
    const index = Math.min(count - 1, Math.floor(at * count));
    poison(bytes, d, index, payload);
    const scan = scanTensor(bytes, { crc32: true, finite: d });
    expect(scan).toEqual({ crc32: crc32(bytes), finite: false });
    expect(scanTensor(bytes, { crc32: false, finite: d }).finite).toBe(false);
    expect(firstNonFinite(bytes, d)).toBe(index);
  });

  test.prop([fc.nat(), fc.integer({ min: 0, max: KERNEL_BUFFER_BYTES / 4 }), fc.nat(4096), dtype], {
    numRuns: 40,
  })(
    'data read into a borrowed kernel buffer is scanned in place with the same results',
    (seed, n, at, d) => {
      const borrowed = borrowKernelBuffer();
      if (!borrowed) throw new Error('no kernel buffer');
      try {
        const offset = 16 * at;
        const bytes = borrowed.bytes.subarray(offset, offset + n);
        bytes.set(finiteValues(seed, n, d));
        const copy = bytes.slice();
        expect(scanTensor(bytes, { crc32: true, finite: d })).toEqual({ crc32: crc32(copy), finite: true });
        const width = d === 'F32' ? 4 : 2;
        if (n >= width) {
          poison(bytes, d, Math.floor(n / width) - 1, seed);
          expect(scanTensor(bytes, { crc32: true, finite: d }).finite).toBe(false);
          expect(scanTensor(bytes, { crc32: false, finite: d }).finite).toBe(false);
        }
      } finally {
        borrowed.release();
      }
    },
  );

  test('a flipped bit anywhere in a large tensor changes the CRC', () => {
    const bytes = randomBytes(3, MIN_FOLD_BYTES * 3 + 5);
    const before = scanTensor(bytes, { crc32: true }).crc32;
    const prng = createPrng(9);
    for (let trial = 0; trial < 200; trial++) {
      const i = Math.floor(prng.next() * bytes.length);
      const bit = 1 << Math.floor(prng.next() * 8);
      bytes[i]! ^= bit;
      expect(scanTensor(bytes, { crc32: true }).crc32).not.toBe(before);
      bytes[i]! ^= bit;
    }
    expect(scanTensor(bytes, { crc32: true }).crc32).toBe(before);
  });
});

describe('rawMaskMatches: the mask judged from the stored bits, without decoding', () => {
  /** Elements drawn to hit zeros, −0, subnormals and ordinary values of each dtype. */
  const elementArb = fc.oneof(
    fc.constant(0),
    fc.constant(0x80000000),
    fc.integer({ min: 0, max: 0xffffffff }),
    fc.integer({ min: 0, max: 3 }),
  );
  test.prop(
    [
      fc.constantFrom('F32', 'F16', 'I8', 'U8' as const),
      fc.array(elementArb, { maxLength: 70 }),
      fc.constantFrom(1, 0.5, 0, 1e-46, 3.25),
      fc.integer({ min: 0, max: 3 }),
      fc.option(fc.nat(), { nil: undefined }),
    ],
    { numRuns: 400 },
  )(
    'equals packMask of the decoded values; any flipped bit is caught',
    (dtype, elements, scale, offset, flip) => {
      const width = dtype === 'F32' ? 4 : dtype === 'F16' ? 2 : 1;
      const raw = new Uint8Array(elements.length * width + offset).subarray(offset);
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      const values = new Float32Array(elements.length);
      elements.forEach((e, i) => {
        if (dtype === 'F32') {
          // Keep it finite (NaN/Inf are rejected before the mask is looked at).
          const bits = (e & 0x7f800000) === 0x7f800000 ? e & 0xbfffffff : e;
          view.setUint32(4 * i, bits, true);
          values[i] = view.getFloat32(4 * i, true);
        } else if (dtype === 'F16') {
          const bits = (e & 0x7c00) === 0x7c00 ? e & 0xbfff : e & 0xffff;
          view.setUint16(2 * i, bits, true);
          values[i] = decodeFloat16(new Uint16Array([bits]))[0]!;
        } else {
          raw[i] = e & 0xff;
          values[i] = dtype === 'I8' ? ((e << 24) >> 24) * scale : e & 0xff;
        }
      });
      const mask = packMask(values);
      expect(rawMaskMatches(mask, raw, dtype, scale)).toBe(true);
      if (flip !== undefined && mask.length > 0) {
        const bit = flip % (mask.length * 8);
        mask[bit >>> 3]! ^= 1 << (bit & 7);
        expect(rawMaskMatches(mask, raw, dtype, scale)).toBe(false);
      }
    },
  );
});

describe('rawMaskMatches in the WebAssembly kernel (tensors of 4 KiB and more)', () => {
  test.prop(
    [
      fc.constantFrom('F32', 'F16' as const),
      fc.integer({ min: 2048, max: 70_000 }),
      fc.integer({ min: 0, max: 3 }),
      fc.boolean(),
      fc.nat(),
      fc.integer({ min: 1, max: 2 ** 31 }),
    ],
    { numRuns: 60 },
  )(
    'equals packMask of the decoded values in place and copied in; any flipped mask bit is caught',
    (dtype, count, offset, inKernel, flip, seed) => {
      const width = dtype === 'F32' ? 4 : 2;
      const prng = createPrng(seed);
      const borrowed = inKernel ? borrowKernelBuffer() : undefined;
      try {
        const room = count * width + offset;
        const backing = borrowed && room <= borrowed.bytes.length ? borrowed.bytes : new Uint8Array(room);
        const raw = backing.subarray(offset, offset + count * width);
        const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
        const values = new Float32Array(count);
        for (let i = 0; i < count; i++) {
          // Zeros, −0 and ordinary values, mixed so every mask byte varies.
          const pick = prng.next();
          const bits =
            pick < 0.4
              ? 0
              : pick < 0.5
                ? dtype === 'F32'
                  ? 0x80000000
                  : 0x8000
                : Math.floor(prng.next() * 2 ** 14) + 1;
          if (dtype === 'F32') {
            view.setUint32(4 * i, bits, true);
            values[i] = view.getFloat32(4 * i, true);
          } else {
            view.setUint16(2 * i, bits, true);
            values[i] = decodeFloat16(new Uint16Array([bits]))[0]!;
          }
        }
        const mask = packMask(values);
        expect(rawMaskMatches(mask, raw, dtype)).toBe(true);
        const bit = flip % count;
        mask[bit >>> 3]! ^= 1 << (bit & 7);
        expect(rawMaskMatches(mask, raw, dtype)).toBe(false);
      } finally {
        borrowed?.release();
      }
    },
  );
});

describe('rawMaskMatches, groups of 32 values a pass (every bit pattern)', () => {
  test.prop(
    [
      fc.constantFrom('F32', 'F16' as const),
      fc.integer({ min: 2048, max: 40_000 }),
      fc.integer({ min: 0, max: 3 }),
      fc.nat(),
      fc.integer({ min: 1, max: 2 ** 31 }),
    ],
    { numRuns: 60 },
  )(
    'agrees with the scalar rule on random finite bits; a value turned zero ↔ non-zero is caught, a sign flip is not',
    (dtype, count, offset, pick, seed) => {
      const width = dtype === 'F32' ? 4 : 2;
      // Random finite bits (any mantissa, exponent, sign), a third of them ±0.
      const bits = finiteValues(seed, count * width, dtype);
      const view = new DataView(bits.buffer);
      const prng = createPrng(seed ^ 0x5a5a);
      for (let i = 0; i < count; i++) {
        if (prng.next() >= 1 / 3) continue;
        const sign = prng.next() < 0.5 ? 1 : 0;
        if (width === 4) view.setUint32(4 * i, sign << 31, true);
        else view.setUint16(2 * i, sign << 15, true);
      }
      const raw = new Uint8Array(count * width + offset).subarray(offset);
      raw.set(bits);
      const nonZero = (i: number): boolean =>
        width === 4
          ? (view.getUint32(4 * i, true) & 0x7fffffff) !== 0
          : (view.getUint16(2 * i, true) & 0x7fff) !== 0;
      const mask = new Uint8Array(Math.ceil(count / 8));
      for (let i = 0; i < count; i++) if (nonZero(i)) mask[i >>> 3]! |= 1 << (i & 7);
      expect(rawMaskMatches(mask, raw, dtype)).toBe(true);
      const i = pick % count;
      const rawView = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      const signByte = width * i + width - 1;
      raw[signByte]! ^= 0x80;
      expect(rawMaskMatches(mask, raw, dtype)).toBe(true);
      raw[signByte]! ^= 0x80;
      // Zero ↔ non-zero: a zero gets its lowest bit, a non-zero loses every bit but the sign.
      if (nonZero(i)) {
        if (width === 4) rawView.setUint32(4 * i, rawView.getUint32(4 * i, true) & 0x80000000, true);
        else rawView.setUint16(2 * i, rawView.getUint16(2 * i, true) & 0x8000, true);
      } else {
        raw[width * i]! ^= 0x01;
      }
      expect(rawMaskMatches(mask, raw, dtype)).toBe(false);
    },
  );
});
