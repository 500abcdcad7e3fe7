/**
 * Zero masks, bit-packed exactly as `numpy.packbits(x != 0, bitorder='little')`: element i is bit
 * (i mod 8) of byte ⌊i/8⌋, least significant bit first; the unused high bits of the last byte are 0.
 * Pure (no I/O): the replay engine reuses these helpers on the masks it reads.
 */

/** Number of bytes a packed mask of `length` elements takes. */
export function maskBytes(length: number): number {
  return Math.ceil(length / 8);
}

/** Packs `values != 0` (so −0 counts as zero, like numpy). NaN would count as non-zero. */
export function packMask(values: Float32Array | Int8Array | Uint8Array | Int32Array): Uint8Array {
  const n = values.length;
  const out = new Uint8Array(maskBytes(n));
  const full = n >>> 3;
  for (let byte = 0, i = 0; byte < full; byte++, i += 8) {
    out[byte] =
      (values[i] !== 0 ? 1 : 0) |
      (values[i + 1] !== 0 ? 2 : 0) |
      (values[i + 2] !== 0 ? 4 : 0) |
      (values[i + 3] !== 0 ? 8 : 0) |
      (values[i + 4] !== 0 ? 16 : 0) |
      (values[i + 5] !== 0 ? 32 : 0) |
      (values[i + 6] !== 0 ? 64 : 0) |
      (values[i + 7] !== 0 ? 128 : 0);
  }
  let last = 0;
  for (let i = full << 3; i < n; i++) if (values[i] !== 0) last |= 1 << (i & 7);
  if (n & 7) out[full] = last;
  return out;
}

/** The inverse of `packMask`: one 0/1 byte per element (`numpy.unpackbits(m, count=length, bitorder='little')`). */
export function unpackMask(mask: Uint8Array, length: number): Uint8Array {
  if (maskBytes(length) > mask.length) {
    throw new RangeError(`mask of ${mask.length} bytes cannot hold ${length} elements`);
  }
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (mask[i >>> 3]! >>> (i & 7)) & 1;
  return out;
}

/** Whether element `index` of a packed mask is non-zero. */
export function maskBit(mask: Uint8Array, index: number): boolean {
  return ((mask[index >>> 3]! >>> (index & 7)) & 1) === 1;
}

const BYTE_POPCOUNT = (() => {
  const t = new Uint8Array(256);
  for (let i = 1; i < 256; i++) t[i] = (i & 1) + t[i >>> 1]!;
  return t;
})();

function popcount32(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

/**
 * Number of set bits: the non-zero count of the masked tensor. With `length`, bits at or past
 * `length` are ignored (they are 0 in a well-formed mask anyway).
 */
export function popcountMask(mask: Uint8Array, length?: number): number {
  const bytes = length === undefined ? mask.length : Math.min(mask.length, length >>> 3);
  let count = 0;
  let i = 0;
  // Whole 32-bit words when the view is aligned; a byte table for the rest.
  if ((mask.byteOffset & 3) === 0 && bytes >= 4) {
    const words = new Uint32Array(mask.buffer, mask.byteOffset, bytes >>> 2);
    for (let w = 0; w < words.length; w++) count += popcount32(words[w]!);
    i = words.length << 2;
  }
  for (; i < bytes; i++) count += BYTE_POPCOUNT[mask[i]!]!;
  if (length !== undefined && length & 7 && mask.length > length >>> 3) {
    count += BYTE_POPCOUNT[mask[length >>> 3]! & ((1 << (length & 7)) - 1)]!;
  }
  return count;
}

/** Whether `mask` is exactly the packed mask of `values` (padding bits included). */
export function maskMatches(mask: Uint8Array, values: Float32Array): boolean {
  const expected = packMask(values);
  if (expected.length !== mask.length) return false;
  for (let i = 0; i < expected.length; i++) if (expected[i] !== mask[i]) return false;
  return true;
}
