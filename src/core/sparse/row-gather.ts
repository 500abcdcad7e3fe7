import type { BitMatrix } from './bits.js';
import type { LoweredSparseLayer } from './layer-lowering.js';

/**
 * How the rows of a layer's A operand are read from its input mask (im2col at the bit level).
 *
 * A conv2d row m (output pixel oh, ow) is, per kernel row y and tap x, the C channel bits of input
 * pixel (oh·sh − pt + y·dh, ow·sw − pl + x·dw), or zeros where that pixel is padding; every other
 * lowering but depthwise is the same with a 1 × 1 kernel over an [M, 1, K] input (row m = input bits
 * [m·K, (m + 1)·K) of its instance). Rows are copied run by run from this geometry, whole 32-bit words
 * when the runs start on word boundaries (C a multiple of 32), so there is no M·K index to build or
 * read. Depthwise convs (one channel per instance, taps C bits apart) and big-endian hosts walk the
 * lowering's per-element index instead (`windows` false).
 *
 * One class with number fields only: every layer's geometry has the same hidden shape, so the
 * compiled gather code stays valid from layer to layer (an object-literal union per case made V8
 * discard and recompile it).
 */
export class RowGather {
  constructor(
    /** false: gather through `low.aIndex`, bit by bit. */
    readonly windows: boolean,
    readonly rows: number,
    readonly k: number,
    readonly h: number,
    readonly w: number,
    readonly c: number,
    readonly fh: number,
    readonly fw: number,
    readonly sh: number,
    readonly sw: number,
    readonly pt: number,
    readonly pl: number,
    readonly dh: number,
    readonly dw: number,
    /** Output width: row m is output pixel (⌊m / wo⌋, m mod wo). */
    readonly wo: number,
    /** Input bits between instances. */
    readonly instanceBits: number,
  ) {}
}

/** Whether this host stores words little-endian: packed mask bytes then read as words in bit order. */
export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function rowGather(low: LoweredSparseLayer): RowGather {
  const spec = low.spec;
  const { m: M, k: K } = low.gemm;
  if (!LITTLE_ENDIAN || spec.op === 'depthwise')
    return new RowGather(false, M, K, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, low.aInstanceStride);
  if (spec.op !== 'conv2d')
    return new RowGather(true, M, K, M, 1, K, 1, 1, 1, 1, 0, 0, 1, 1, 1, low.aInstanceStride);
  const [h, w, c] = spec.inputShape as [number, number, number];
  const [fh, fw] = spec.kernel ?? [1, 1];
  const [sh, sw] = spec.stride ?? [1, 1];
  const [pt, , pl, pr] = spec.padding ?? [0, 0, 0, 0];
  const [dh, dw] = spec.dilation ?? [1, 1];
  const wo = Math.floor((w + pl + pr - dw * (fw - 1) - 1) / sw) + 1;
  return new RowGather(true, M, K, h, w, c, fh, fw, sh, sw, pt, pl, dh, dw, wo, low.aInstanceStride);
}

/**
 * Fills `dst` (M × K) with A's rows of one instance: entry (m, k) is the input bit A(m, k) reads, 0
 * on padding. The instance's input starts at bit `base` of `src`, its mask as 32-bit words with one
 * more word after its last (a run may read one word past its end and mask it off); an all-ones
 * `src` gives the padding pattern.
 */
export function gatherWindows(g: RowGather, base: number, src: Uint32Array, dst: BitMatrix): void {
  const out = dst.words;
  const wpr = dst.wordsPerRow;
  out.fill(0);
  const { rows, h, w, c, fh, fw, sh, sw, pt, pl, dh, dw, wo } = g;
  for (let m = 0; m < rows; m++) {
    const oh = Math.floor(m / wo);
    const ow = m - oh * wo;
    const iw0 = ow * sw - pl;
    // Taps [x0, x1) of a kernel row fall inside the input's width.
    let x0 = 0;
    while (x0 < fw && iw0 + x0 * dw < 0) x0++;
    let x1 = fw;
    while (x1 > x0 && iw0 + (x1 - 1) * dw >= w) x1--;
    if (x0 === x1) continue;
    const rowWord = m * wpr;
    for (let y = 0; y < fh; y++) {
      const ih = oh * sh - pt + y * dh;
      if (ih < 0 || ih >= h) continue;
      const pixel = ih * w + iw0;
      if (dw === 1) {
        // Adjacent taps are adjacent in the input: the kernel row is one run.
        orBits(src, base + (pixel + x0) * c, out, rowWord, (y * fw + x0) * c, (x1 - x0) * c);
      } else {
        for (let x = x0; x < x1; x++)
          orBits(src, base + (pixel + x * dw) * c, out, rowWord, (y * fw + x) * c, c);
      }
    }
  }
}

/**
 * ORs bits [from, from + length) of `src` into the row starting at word `rowWord` of `out`, from
 * row bit `at`: whole words when both ends are word-aligned, else up to 32 bits per step (read
 * across two source words, written across two row words).
 */
function orBits(
  src: Uint32Array,
  from: number,
  out: Uint32Array,
  rowWord: number,
  at: number,
  length: number,
): void {
  if (((from | at) & 31) === 0) {
    const s = from >>> 5;
    const d = rowWord + (at >>> 5);
    const whole = length >>> 5;
    for (let j = 0; j < whole; j++) out[d + j] = src[s + j]!;
    const rest = length & 31;
    if (rest !== 0) out[d + whole] = (out[d + whole]! | (src[s + whole]! & ((1 << rest) - 1))) >>> 0;
    return;
  }
  let left = length;
  let bit = from;
  let to = at;
  while (left > 0) {
    const n = Math.min(left, 32);
    const i = bit >>> 5;
    const o = bit & 31;
    let v = o === 0 ? src[i]! : (src[i]! >>> o) | (src[i + 1]! << (32 - o));
    if (n < 32) v &= (1 << n) - 1;
    const d = rowWord + (to >>> 5);
    const e = to & 31;
    out[d] = (out[d]! | (v << e)) >>> 0;
    if (e + n > 32) out[d + 1] = (out[d + 1]! | (v >>> (32 - e))) >>> 0;
    bit += n;
    to += n;
    left -= n;
  }
}

/**
 * `gatherWindows` through the lowering's index (depthwise, big-endian hosts): one bit per entry;
 * `mask` null gives the padding pattern.
 */
export function gatherByIndex(
  low: LoweredSparseLayer,
  instance: number,
  mask: Uint8Array | null,
  dst: BitMatrix,
): void {
  const { m: M, k: K } = low.gemm;
  const out = dst.words;
  const wpr = dst.wordsPerRow;
  const aIndex = low.aIndex;
  const aBase = instance * low.aInstanceStride;
  for (let mm = 0; mm < M; mm++) {
    const row = mm * K;
    let d = mm * wpr;
    let acc = 0;
    for (let kk = 0; kk < K; kk++) {
      const idx = aIndex[row + kk]!;
      // No branch on the data: a padding entry (idx < 0) reads bit aBase and is masked off.
      const valid = ~idx >>> 31;
      const bit = aBase + (idx & ~(idx >> 31));
      const value = mask ? (mask[bit >>> 3]! >>> (bit & 7)) & valid : valid;
      acc |= value << (kk & 31);
      if ((kk & 31) === 31) {
        out[d++] = acc >>> 0;
        acc = 0;
      }
    }
    if ((K & 31) !== 0) out[d] = acc >>> 0;
  }
}

/**
 * The non-padding entries of each column k of A (any instance: instances only shift the input).
 * Windows: tap (y, x) is inside for the output rows whose input row is inside times the output
 * columns whose input column is, so per k a product of two small counts.
 */
export function validPerK(low: LoweredSparseLayer, g: RowGather): Float64Array {
  const { m: M, k: K } = low.gemm;
  const out = new Float64Array(K);
  if (!g.windows) {
    countValidByIndex(low.aIndex, M, K, out);
    return out;
  }
  const ho = M / g.wo;
  const insideRows = new Float64Array(g.fh);
  const insideCols = new Float64Array(g.fw);
  for (let y = 0; y < g.fh; y++) insideRows[y] = insideCount(ho, g.sh, y * g.dh - g.pt, g.h);
  for (let x = 0; x < g.fw; x++) insideCols[x] = insideCount(g.wo, g.sw, x * g.dw - g.pl, g.w);
  // Every k of a tap (its C channels) has the same count.
  for (let y = 0; y < g.fh; y++) {
    for (let x = 0; x < g.fw; x++) {
      const tap = y * g.fw + x;
      out.fill(insideRows[y]! * insideCols[x]!, tap * g.c, (tap + 1) * g.c);
    }
  }
  return out;
}

/** How many o in [0, outputs) have 0 ≤ o·stride + offset < size. */
function insideCount(outputs: number, stride: number, offset: number, size: number): number {
  let n = 0;
  for (let o = 0; o < outputs; o++) {
    const i = o * stride + offset;
    if (i >= 0 && i < size) n++;
  }
  return n;
}

function countValidByIndex(aIndex: Int32Array, M: number, K: number, out: Float64Array): void {
  for (let mm = 0; mm < M; mm++) {
    const row = mm * K;
    for (let kk = 0; kk < K; kk++) out[kk]! += ~aIndex[row + kk]! >>> 31;
  }
}
