import { popcountBytes } from './bit-matrix-kernel.js';

/**
 * Bit matrices packed along their rows in 32-bit words: the representation every sparse count runs
 * on. Bit c of row r lives in word `r·wordsPerRow + (c >>> 5)`, bit `c & 31`. Bits past `cols` in a
 * row's last word are always zero, so whole-row counts need no end mask.
 */
export interface BitMatrix {
  readonly rows: number;
  readonly cols: number;
  readonly wordsPerRow: number;
  readonly words: Uint32Array;
}

export function createBitMatrix(rows: number, cols: number): BitMatrix {
  const wordsPerRow = Math.max(1, Math.ceil(cols / 32));
  return { rows, cols, wordsPerRow, words: new Uint32Array(rows * wordsPerRow) };
}

export function setBit(bm: BitMatrix, r: number, c: number): void {
  const i = r * bm.wordsPerRow + (c >>> 5);
  bm.words[i] = (bm.words[i]! | (1 << (c & 31))) >>> 0;
}

export function getBit(bm: BitMatrix, r: number, c: number): boolean {
  return ((bm.words[r * bm.wordsPerRow + (c >>> 5)]! >>> (c & 31)) & 1) === 1;
}

/** Population count of a 32-bit word (SWAR). */
export function popcount32(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  v = (v + (v >>> 4)) & 0x0f0f0f0f;
  return Math.imul(v, 0x01010101) >>> 24;
}

/** Mask of bits [lo, hi) inside one word, 0 ≤ lo < hi ≤ 32. */
function wordMask(lo: number, hi: number): number {
  const upper = hi === 32 ? 0xffffffff : (1 << hi) - 1;
  return (upper & ~((1 << lo) - 1)) >>> 0;
}

/** Set bits of row r in columns [start, end). */
export function rowCount(bm: BitMatrix, r: number, start: number, end: number): number {
  if (end <= start) return 0;
  const base = r * bm.wordsPerRow;
  const w = bm.words;
  const first = start >>> 5;
  const last = (end - 1) >>> 5;
  if (first === last) return popcount32(w[base + first]! & wordMask(start & 31, ((end - 1) & 31) + 1));
  let n = popcount32(w[base + first]! & wordMask(start & 31, 32));
  for (let i = first + 1; i < last; i++) n += popcount32(w[base + i]!);
  return n + popcount32(w[base + last]! & wordMask(0, ((end - 1) & 31) + 1));
}

/** Set bits of row r, all columns. */
export function rowTotal(bm: BitMatrix, r: number): number {
  const base = r * bm.wordsPerRow;
  const w = bm.words;
  let n = 0;
  for (let i = 0; i < bm.wordsPerRow; i++) n += popcount32(w[base + i]!);
  return n;
}

/** Set bits of (row ra of a) AND (row rb of b) in columns [start, end); a and b have equal cols. */
export function andCount(
  a: BitMatrix,
  ra: number,
  b: BitMatrix,
  rb: number,
  start: number,
  end: number,
): number {
  if (end <= start) return 0;
  const baseA = ra * a.wordsPerRow;
  const baseB = rb * b.wordsPerRow;
  const wa = a.words;
  const wb = b.words;
  const first = start >>> 5;
  const last = (end - 1) >>> 5;
  if (first === last) {
    return popcount32(wa[baseA + first]! & wb[baseB + first]! & wordMask(start & 31, ((end - 1) & 31) + 1));
  }
  let n = popcount32(wa[baseA + first]! & wb[baseB + first]! & wordMask(start & 31, 32));
  for (let i = first + 1; i < last; i++) n += popcount32(wa[baseA + i]! & wb[baseB + i]!);
  return n + popcount32(wa[baseA + last]! & wb[baseB + last]! & wordMask(0, ((end - 1) & 31) + 1));
}

/** Set bits of (row ra of a) AND (row rb of b), all columns: the hot loop of OS element timing. */
export function andTotal(a: BitMatrix, ra: number, b: BitMatrix, rb: number): number {
  const n = a.wordsPerRow;
  const baseA = ra * n;
  const baseB = rb * n;
  const wa = a.words;
  const wb = b.words;
  let count = 0;
  for (let i = 0; i < n; i++) {
    // Branch-free: a data-dependent zero test mispredicts at every density but the extremes.
    let v = wa[baseA + i]! & wb[baseB + i]!;
    v = v - ((v >>> 1) & 0x55555555);
    v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
    count += Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
  }
  return count;
}

/** Whether a bit flat-indexed `index` is set in a numpy `packbits(..., bitorder='little')` array. */
export function packedBit(packed: Uint8Array, index: number): number {
  return (packed[index >>> 3]! >>> (index & 7)) & 1;
}

/**
 * Copies bits [start, start + count) of a little-order packed mask into ⌈count/32⌉ words of `dst`
 * from word `at` (bit j of the run → bit j & 31 of word j >>> 5; bits past `count` zero): a whole
 * row of a bit matrix per call, 32 bits per step instead of one.
 */
export function extractBits(
  packed: Uint8Array,
  start: number,
  count: number,
  dst: Uint32Array,
  at: number,
): void {
  const words = Math.ceil(count / 32);
  const shift = start & 7;
  const end = packed.length;
  let byte = start >>> 3;
  for (let j = 0; j < words; j++, byte += 4) {
    let lo: number;
    let hi: number;
    if (byte + 4 < end) {
      lo = packed[byte]! | (packed[byte + 1]! << 8) | (packed[byte + 2]! << 16) | (packed[byte + 3]! << 24);
      hi = packed[byte + 4]!;
    } else {
      // The run's last bytes: what lies past the mask reads as zero.
      lo = 0;
      for (let b = 0; b < 4 && byte + b < end; b++) lo |= packed[byte + b]! << (8 * b);
      hi = byte + 4 < end ? packed[byte + 4]! : 0;
    }
    dst[at + j] = shift === 0 ? lo >>> 0 : ((lo >>> shift) | (hi << (32 - shift))) >>> 0;
  }
  const rest = count & 31;
  if (rest !== 0) dst[at + words - 1] = (dst[at + words - 1]! & ((1 << rest) - 1)) >>> 0;
}

/** Below this many bytes a mask is counted in JavaScript: the kernel call would cost more. */
const KERNEL_BYTES = 256;

/** Set bits among the first `count` bits of a little-order packed mask. */
export function packedPopcount(packed: Uint8Array, count: number): number {
  const fullBytes = count >>> 3;
  const quads = fullBytes >>> 2;
  // Large masks (every layer input, every step) in the WebAssembly kernel when it runs here.
  const viaKernel = fullBytes >= KERNEL_BYTES ? popcountBytes(packed, quads * 4) : undefined;
  let n = viaKernel ?? popcountQuads(packed, quads);
  for (let i = quads * 4; i < fullBytes; i++) n += popcount32(packed[i]!);
  const rest = count & 7;
  if (rest > 0) n += popcount32(packed[fullBytes]! & ((1 << rest) - 1));
  return n;
}

/**
 * Set bits of the first `quads` groups of 4 bytes. The loop alone in its own function: V8 compiles
 * a long loop while it runs (on-stack replacement), before the code after it has ever run, and then
 * re-enters that compiled loop on every call only to throw it away at the untried code past the loop.
 */
function popcountQuads(packed: Uint8Array, quads: number): number {
  let n = 0;
  for (let i = 0, end = quads * 4; i < end; i += 4) {
    n += popcount32(
      (packed[i]! | (packed[i + 1]! << 8) | (packed[i + 2]! << 16) | (packed[i + 3]! << 24)) >>> 0,
    );
  }
  return n;
}
