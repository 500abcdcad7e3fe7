/**
 * One pass over a tensor's stored bytes that computes their CRC-32 (zlib / IEEE, bit-identical to
 * `zlib.crc32`) and checks F32 / F16 values for NaN/Inf: ~14 GB/s here, against ~2–4 GB/s for
 * `zlib.crc32` alone (Node's zlib has no hardware CRC path) plus a separate finiteness pass.
 *
 * Why it is fast: CRC-32 is the remainder of the message polynomial M(x) modulo P(x), so any
 * multiple R of P gives the same remainder mod P. R(y) = y^300 + y^155 + y^117 + y^89 + 1 with
 * y = x^128 is one (a sparse multiple found by search; the test checks it). Read each 16-byte block
 * as one coefficient of y: long division by R is then the recurrence
 * c_m = S_m ⊕ c_{m−300} ⊕ c_{m−145} ⊕ c_{m−183} ⊕ c_{m−211} — four SIMD XORs and one store per 16
 * bytes, no tables, no carry-less multiply — done by a small WebAssembly kernel that also tests each
 * lane's exponent bits for NaN/Inf. The last 300 values (4.7 KiB) have the same CRC-32 as M once
 * the skipped length is accounted for, and zlib finishes them. Without WebAssembly SIMD (or for
 * small tensors) the same results come from `zlib.crc32` and a scalar loop.
 */
import { crc32 } from 'node:zlib';
import {
  add,
  advance,
  binary,
  doWhile,
  encodeModule,
  get,
  I32,
  i32Const,
  i32Load,
  instantiate,
  ne,
  OP,
  seq,
  set,
  shl,
  simd,
  tee,
  unless,
  V128,
  v128Load,
  v128Store,
  WASM_PAGE_BYTES,
  type WasmFunction,
} from '../core/wasm-encoder.js';

export type FiniteCheck = 'F32' | 'F16';

export interface ScanOptions {
  /** Compute the CRC-32 of the bytes. */
  readonly crc32: boolean;
  /** Also report whether the bytes, read as little-endian values of this dtype, hold no NaN/Inf. */
  readonly finite?: FiniteCheck;
}

export interface TensorScan {
  /** Present when asked for. */
  readonly crc32?: number;
  /** False when `finite` was asked for and some element is NaN or ±Inf; true otherwise. */
  readonly finite: boolean;
}

/** The sparse multiple R(y) = y^D + Σ y^e + 1 of the CRC-32 polynomial, y = x^128 (one 16-byte block). */
export const FOLD_DEGREE = 300;
export const FOLD_TERMS: readonly number[] = [155, 117, 89];
const BLOCK_BYTES = 16;
/** Blocks per kernel call: big enough to amortise the call and the carry move, small enough for L2. */
const CHUNK_BLOCKS = 16_384;
/** Below this the fold's fixed cost (the remainder through zlib, a kernel call) is not worth it. */
export const MIN_FOLD_BYTES = 2 * FOLD_DEGREE * BLOCK_BYTES;
/** Below this a finiteness-only scan is not worth a kernel call. */
const MIN_KERNEL_SCAN_BYTES = 4096;

/**
 * Buffers inside the kernel's memory that callers may read data into, so the scan reads it in place
 * instead of copying it in first (./read-ahead.ts uses them for its recycled windows, and for a
 * tensor larger than a window: a 512×512×3×3 F16 weight is 4.5 MiB, and copying such tensors through
 * the staging area once per pass cost more than the passes). The memory is reserved up front —
 * growing WebAssembly memory would detach every view handed out — and pages are only committed when
 * touched, so a buffer costs only the bytes actually read into it.
 */
export const KERNEL_BUFFER_BYTES = 16 * 2 ** 20;
/** One per open reader doing transient reads (./read-ahead.ts); further readers use ordinary memory. */
const KERNEL_BUFFERS = 8;

/** Memory layout (bytes): the recurrence's values c, then the staging area for copied-in data, then the buffers. */
const PENDING_OFFSET = 0;
const STAGING_OFFSET = (CHUNK_BLOCKS + FOLD_DEGREE) * BLOCK_BYTES;
const BUFFERS_OFFSET = STAGING_OFFSET + CHUNK_BLOCKS * BLOCK_BYTES;
const MEMORY_BYTES = BUFFERS_OFFSET + KERNEL_BUFFERS * KERNEL_BUFFER_BYTES;

/** CRC-32 and/or finiteness of `bytes` in one pass (WebAssembly when available, else portable). */
export function scanTensor(bytes: Uint8Array, options: ScanOptions): TensorScan {
  if (options.crc32) {
    const k = bytes.length >= MIN_FOLD_BYTES ? getKernel() : undefined;
    return k ? kernelScan(k, bytes, options.finite) : scanTensorPortable(bytes, options);
  }
  if (!options.finite) return { finite: true };
  const k = bytes.length >= MIN_KERNEL_SCAN_BYTES ? getKernel() : undefined;
  return { finite: k ? kernelFinite(k, bytes, options.finite) : firstNonFinite(bytes, options.finite) < 0 };
}

export interface KernelBuffer {
  /** KERNEL_BUFFER_BYTES of memory that `scanTensor` reads without copying. */
  readonly bytes: Uint8Array;
  /** Gives it back; the holder must not use `bytes` afterwards. */
  release(): void;
}

/** One of the kernel's buffers, or undefined when there is no kernel or all are lent out. */
export function borrowKernelBuffer(): KernelBuffer | undefined {
  const k = getKernel();
  const slot = k?.free.pop();
  if (!k || slot === undefined) return undefined;
  let held = true;
  return {
    bytes: k.bytes.subarray(
      BUFFERS_OFFSET + slot * KERNEL_BUFFER_BYTES,
      BUFFERS_OFFSET + (slot + 1) * KERNEL_BUFFER_BYTES,
    ),
    release: () => {
      if (held) k.free.push(slot);
      held = false;
    },
  };
}

/** The same results from `zlib.crc32` and a scalar loop: the fallback, and the reference in tests. */
export function scanTensorPortable(bytes: Uint8Array, options: ScanOptions): TensorScan {
  const finite = options.finite ? firstNonFinite(bytes, options.finite) < 0 : true;
  return options.crc32 ? { crc32: crc32(bytes), finite } : { finite };
}

export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Index of the first NaN/Inf element of little-endian `dtype` values in `bytes`, or −1. */
export function firstNonFinite(bytes: Uint8Array, dtype: FiniteCheck): number {
  const width = dtype === 'F32' ? 4 : 2;
  const n = Math.floor(bytes.length / width);
  if (LITTLE_ENDIAN && bytes.byteOffset % width === 0) {
    if (dtype === 'F32') {
      const words = new Uint32Array(bytes.buffer, bytes.byteOffset, n);
      for (let i = 0; i < n; i++) if ((words[i]! & 0x7f800000) === 0x7f800000) return i;
    } else {
      const halves = new Uint16Array(bytes.buffer, bytes.byteOffset, n);
      for (let i = 0; i < n; i++) if ((halves[i]! & 0x7c00) === 0x7c00) return i;
    }
    return -1;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dtype === 'F32') {
    for (let i = 0; i < n; i++) if ((view.getUint32(4 * i, true) & 0x7f800000) === 0x7f800000) return i;
  } else {
    for (let i = 0; i < n; i++) if ((view.getUint16(2 * i, true) & 0x7c00) === 0x7c00) return i;
  }
  return -1;
}

// ---------------------------------------------------------------------------------------------------
// The kernel

type Mode = 'none' | FiniteCheck;

type KernelFunction = (src: number, values: number, count: number) => number;

interface Kernel {
  /** All of the kernel's memory. */
  readonly bytes: Uint8Array;
  /**
   * fold[k][mode](src, values, count): for `count` blocks S at byte address `src`, c_j = S_j ⊕ the
   * terms of R pulled from the 16-byte values at `values` (c_{j−D} at values + 16j, …), stored at
   * values + 16(j + D). fold[k] leaves out the k largest terms e (needed for the last D blocks,
   * whose later terms would pull values of blocks that are not reduced). Returns 1 on a NaN/Inf lane.
   */
  readonly fold: readonly Record<Mode, KernelFunction>[];
  /** scan[mode](src, _, count): 1 if some lane of `count` blocks at `src` is NaN/Inf. */
  readonly scan: Record<FiniteCheck, KernelFunction>;
  /**
   * mask[dtype](src, mask, count): non-zero unless each of the `count` bytes at `mask` equals the
   * packed non-zero mask of the next 8 values at `src` (little-endian F16 or F32 bits).
   */
  readonly mask: Record<FiniteCheck, KernelFunction>;
  /** mask4[dtype](src, mask, count): the same over `count` groups of 4 mask bytes, a group a pass. */
  readonly mask4: Record<FiniteCheck, KernelFunction>;
  /** Indices of the buffers not lent out. */
  readonly free: number[];
}

let kernel: Kernel | null | undefined;

function getKernel(): Kernel | undefined {
  if (kernel === undefined) kernel = buildKernel();
  return kernel ?? undefined;
}

/**
 * Where `bytes` can be read by the kernel: its own address when it lies in the kernel's memory
 * (a borrowed buffer), else undefined (it has to be copied into the staging area).
 */
function addressIn(k: Kernel, bytes: Uint8Array): number | undefined {
  return bytes.buffer === k.bytes.buffer ? bytes.byteOffset : undefined;
}

/** The terms e of R, largest first, as the fold functions drop them. */
const TERMS_DESCENDING = [...FOLD_TERMS].sort((a, b) => b - a);

function kernelScan(k: Kernel, bytes: Uint8Array, check: FiniteCheck | undefined): TensorScan {
  const mode = check ?? 'none';
  const fold = k.fold[0]![mode];
  const mem = k.bytes;
  const inPlace = addressIn(k, bytes);
  /** The kernel address of blocks [from, from + n) of `bytes`, copying them in if need be. */
  const source = (from: number, n: number): number => {
    if (inPlace !== undefined) return inPlace + from * BLOCK_BYTES;
    mem.set(bytes.subarray(from * BLOCK_BYTES, (from + n) * BLOCK_BYTES), STAGING_OFFSET);
    return STAGING_OFFSET;
  };
  const blocks = Math.floor(bytes.length / BLOCK_BYTES);
  const carryBytes = FOLD_DEGREE * BLOCK_BYTES;
  mem.fill(0, PENDING_OFFSET, PENDING_OFFSET + carryBytes);
  let bad = 0;
  let done = 0;
  const foldBlocks = blocks - FOLD_DEGREE;
  while (done < foldBlocks) {
    const n = Math.min(CHUNK_BLOCKS, foldBlocks - done);
    bad |= fold(source(done, n), PENDING_OFFSET, n);
    // The last D values computed become the ones the next chunk pulls from.
    mem.copyWithin(
      PENDING_OFFSET,
      PENDING_OFFSET + n * BLOCK_BYTES,
      PENDING_OFFSET + n * BLOCK_BYTES + carryBytes,
    );
    done += n;
  }
  // The last D blocks are not reduced: block j' (from 0) only takes the terms e with j' < D − e.
  const last = source(done, FOLD_DEGREE);
  let from = 0;
  for (let dropped = 0; dropped <= TERMS_DESCENDING.length; dropped++) {
    const to = dropped < TERMS_DESCENDING.length ? FOLD_DEGREE - TERMS_DESCENDING[dropped]! : FOLD_DEGREE;
    const offset = from * BLOCK_BYTES;
    bad |= k.fold[dropped]![mode](last + offset, PENDING_OFFSET + offset, to - from);
    from = to;
  }
  // M ≡ remainder (mod P) with both aligned at the message's end, so M has the CRC of
  // (zeros, remainder): zlib continues from the CRC of the zeros, computed in O(log n).
  const remainder = mem.subarray(PENDING_OFFSET + carryBytes, PENDING_OFFSET + 2 * carryBytes);
  let crc = crc32(remainder, crc32OfZeros(foldBlocks * BLOCK_BYTES));
  const tail = bytes.subarray(blocks * BLOCK_BYTES);
  if (tail.length > 0) crc = crc32(tail, crc);
  const finite = bad === 0 && (check === undefined || firstNonFinite(tail, check) < 0);
  return { crc32: crc, finite };
}

function kernelFinite(k: Kernel, bytes: Uint8Array, check: FiniteCheck): boolean {
  const blocks = Math.floor(bytes.length / BLOCK_BYTES);
  const inPlace = addressIn(k, bytes);
  if (inPlace !== undefined) {
    if (blocks > 0 && k.scan[check](inPlace, 0, blocks) !== 0) return false;
  } else {
    for (let done = 0; done < blocks; done += CHUNK_BLOCKS) {
      const n = Math.min(CHUNK_BLOCKS, blocks - done);
      k.bytes.set(bytes.subarray(done * BLOCK_BYTES, (done + n) * BLOCK_BYTES), STAGING_OFFSET);
      if (k.scan[check](STAGING_OFFSET, 0, n) !== 0) return false;
    }
  }
  return firstNonFinite(bytes.subarray(blocks * BLOCK_BYTES), check) < 0;
}

// ---------------------------------------------------------------------------------------------------
// CRC-32 arithmetic modulo P in zlib's reflected representation (as zlib's crc32_combine).

const REFLECTED_POLY = 0xedb88320;

function multModP(a: number, b: number): number {
  let m = 0x80000000;
  let p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? (b >>> 1) ^ REFLECTED_POLY : b >>> 1;
  }
  return p >>> 0;
}

/** x^(2^k) mod P for k < 64. */
const X2N: readonly number[] = (() => {
  const out = [0x40000000];
  for (let k = 1; k < 64; k++) out.push(multModP(out[k - 1]!, out[k - 1]!));
  return out;
})();

/** x^(n · 2^k) mod P. */
export function xPowModP(n: number, k = 0): number {
  let p = 0x80000000;
  while (n > 0) {
    if (n % 2 === 1) p = multModP(X2N[k % 64]!, p);
    n = Math.floor(n / 2);
    k++;
  }
  return p;
}

/** `zlib.crc32` of `length` zero bytes: the register starts at ~0 and each zero byte multiplies it by x^8. */
export function crc32OfZeros(length: number): number {
  return ~multModP(xPowModP(length, 3), 0xffffffff) >>> 0;
}

// ---------------------------------------------------------------------------------------------------
// The kernel's code (../core/wasm-encoder.ts writes the module; ~1 KiB)

const V128_AND = OP.v128And;
const V128_OR = OP.v128Or;
const V128_XOR = OP.v128Xor;
/** `x | y`, `x ^ y` (i32). */
const or = binary(OP.i32Or);
const xor = binary(OP.i32Xor);

/**
 * A function (src: i32, values: i32, count: i32) → i32 over `count` blocks at byte address `src`.
 * Locals: 0 src, 1 values (both advance 16 per block), 2 count, 3 end (of src), 4 raw, 5 c, 6 bad.
 * `terms` (null: no recurrence, only the check): c = raw ⊕ values[j] (the term y^0 of R, i.e. c_{j−D})
 * ⊕ values[j + e] for each e given, stored at values[j + D]. `check`: OR each lane's NaN/Inf test
 * into `bad`, returned at the end.
 */
function functionBody(terms: readonly number[] | null, check: FiniteCheck | undefined): number[] {
  const [src, values, count, end, raw, c, bad] = [0, 1, 2, 3, 4, 5, 6];
  const block = tee(raw, seq(get(src), v128Load(0)));
  // ⊕ values[j + e]
  const pull = (e: number): number[] => seq(get(values), v128Load(e * BLOCK_BYTES), V128_XOR);
  const fold = terms
    ? seq(
        set(c, seq(block, pull(0), ...terms.map(pull))),
        seq(get(values), get(c), v128Store(FOLD_DEGREE * BLOCK_BYTES)),
      )
    : set(c, block);
  // bad |= (raw & exponents) == exponents, per lane.
  const test = (dtype: FiniteCheck): number[] => {
    const exponents = dtype === 'F32' ? laneConst(0x7f800000, 4) : laneConst(0x7c00, 2);
    const eqLanes = dtype === 'F32' ? OP.i32x4Eq : OP.i16x8Eq;
    return set(bad, seq(get(bad), get(raw), exponents, V128_AND, exponents, eqLanes, V128_OR));
  };
  return seq(
    set(end, add(src, shl(count, i32Const(4)))),
    stepping(count, src, BLOCK_BYTES, end, seq(fold, check ? test(check) : [], advance(values, BLOCK_BYTES))),
    get(bad),
    OP.v128AnyTrue,
  );
}

/** `do body while ((p += step) !== end)` (i32 locals), skipped when the local `count` is 0: every scan function's loop. */
function stepping(count: number, p: number, step: number, end: number, body: number[]): number[] {
  return unless(seq(get(count), OP.i32Eqz), doWhile(body, ne(tee(p, add(p, i32Const(step))), end)));
}

/**
 * (src, mask, count) → bad: for each of `count` mask bytes, the 8 values it covers (16 bytes of F16
 * or 32 of F32 at `src`) are non-zero iff a bit other than the sign is set; their bitmask is XORed
 * with the stored byte and ORed into `bad`. Locals: 3 end (of mask), 4 bad.
 */
function maskBody(dtype: FiniteCheck): number[] {
  const [src, mask, count, end, bad] = [0, 1, 2, 3, 4];
  const I32_LOAD8_U = [0x2d, 0, 0];
  // i16x8.ne, i16x8.bitmask: one bit per half; i32x4.ne, i32x4.bitmask: one per single, on both
  // halves of the byte's 8 values.
  const nonZero = (offset: number): number[] =>
    dtype === 'F16'
      ? seq(magnitudeLanes(offset, 2), OP.v128Zero, simd(0x2e), simd(0x84))
      : seq(magnitudeLanes(offset, 4), OP.v128Zero, simd(0x38), simd(0xa4));
  const bits = dtype === 'F16' ? nonZero(0) : or(nonZero(0), shl(nonZero(16), i32Const(4)));
  const body = seq(
    set(bad, or(bad, xor(bits, seq(get(mask), I32_LOAD8_U)))),
    advance(src, dtype === 'F16' ? 16 : 32),
  );
  return seq(set(end, add(mask, count)), stepping(count, mask, 1, end, body), get(bad));
}

/**
 * (src, mask, count) → bad over `count` groups of 4 mask bytes (32 values: 64 bytes of F16, 128 of
 * F32): each 16-byte block's lanes are tested for zero (sign bit cleared), the lane results narrowed
 * to bytes (i16x8 → i8x16, F32 through i32x4 → i16x8 first) and their i8x16.bitmask gives 16 of the
 * group's bits; 32 zero bits XOR the stored word are all ones where the mask agrees, so their
 * complement is ORed into `bad`. Locals: 3 end (of mask), 4 bad.
 */
function mask4Body(dtype: FiniteCheck): number[] {
  const width = dtype === 'F16' ? 2 : 4;
  const zeroLanes = (offset: number): number[] =>
    seq(magnitudeLanes(offset, width), OP.v128Zero, width === 2 ? OP.i16x8Eq : OP.i32x4Eq);
  /** The zero bits of 16 values from byte `offset` on. */
  const sixteen = (offset: number): number[] =>
    width === 2
      ? seq(zeroLanes(offset), zeroLanes(offset + 16), OP.i8x16NarrowI16x8S, OP.i8x16Bitmask)
      : seq(
          zeroLanes(offset),
          zeroLanes(offset + 16),
          OP.i16x8NarrowI32x4S,
          zeroLanes(offset + 32),
          zeroLanes(offset + 48),
          OP.i16x8NarrowI32x4S,
          OP.i8x16NarrowI16x8S,
          OP.i8x16Bitmask,
        );
  const groupBytes = 32 * width;
  const [src, mask, count, end, bad] = [0, 1, 2, 3, 4];
  const zeros = or(sixteen(0), shl(sixteen(groupBytes / 2), i32Const(16)));
  // ~(zeros ^ stored): the bits where a value and its mask bit disagree.
  const mismatches = xor(xor(zeros, seq(get(mask), i32Load(0))), i32Const(-1));
  const body = seq(set(bad, or(bad, mismatches)), advance(src, groupBytes));
  return seq(set(end, add(mask, shl(count, i32Const(2)))), stepping(count, mask, 4, end, body), get(bad));
}

/** The 16 bytes at `src` + `offset` (local 0) with each lane's sign bit cleared: zero iff the value is ±0. */
function magnitudeLanes(offset: number, width: 2 | 4): number[] {
  return seq(get(0), v128Load(offset), laneConst(width === 2 ? 0x7fff : 0x7fffffff, width), V128_AND);
}

/** v128.const of `value` in every lane of `width` bytes (little-endian). */
function laneConst(value: number, width: 2 | 4): number[] {
  const out = new Uint8Array(16);
  const view = new DataView(out.buffer);
  for (let i = 0; i < 16; i += width) {
    if (width === 2) view.setUint16(i, value, true);
    else view.setUint32(i, value, true);
  }
  return simd(0x0c, ...out);
}

function buildKernel(): Kernel | null {
  const functions: WasmFunction[] = [];
  const modes = ['none', 'F32', 'F16'] as const;
  const locals = [
    [1, I32],
    [3, V128],
  ] as const;
  for (let dropped = 0; dropped <= TERMS_DESCENDING.length; dropped++) {
    for (const mode of modes) {
      const check = mode === 'none' ? undefined : mode;
      functions.push({
        name: `fold${dropped}_${mode}`,
        params: 3,
        locals,
        code: functionBody(TERMS_DESCENDING.slice(dropped), check),
      });
    }
  }
  functions.push({ name: 'scan_F32', params: 3, locals, code: functionBody(null, 'F32') });
  functions.push({ name: 'scan_F16', params: 3, locals, code: functionBody(null, 'F16') });
  for (const dtype of ['F32', 'F16'] as const) {
    functions.push({ name: `mask_${dtype}`, params: 3, locals: [[2, I32]], code: maskBody(dtype) });
    functions.push({ name: `mask4_${dtype}`, params: 3, locals: [[2, I32]], code: mask4Body(dtype) });
  }
  // No SIMD (an old engine, --jitless): fall back to zlib.
  const exports = instantiate(encodeModule(functions, Math.ceil(MEMORY_BYTES / WASM_PAGE_BYTES)));
  if (!exports) return null;
  const memory = exports.memory as { buffer: ArrayBuffer };
  const fn = (key: string) => exports[key] as KernelFunction;
  return {
    bytes: new Uint8Array(memory.buffer),
    fold: TERMS_DESCENDING.concat(0).map((_, dropped) => ({
      none: fn(`fold${dropped}_none`),
      F32: fn(`fold${dropped}_F32`),
      F16: fn(`fold${dropped}_F16`),
    })),
    scan: { F32: fn('scan_F32'), F16: fn('scan_F16') },
    mask: { F32: fn('mask_F32'), F16: fn('mask_F16') },
    mask4: { F32: fn('mask4_F32'), F16: fn('mask4_F16') },
    free: Array.from({ length: KERNEL_BUFFERS }, (_, i) => KERNEL_BUFFERS - 1 - i),
  };
}

// ---------------------------------------------------------------------------------------------------
// Masks against stored bits

export type MaskedDtype = 'F32' | 'F16' | 'I8' | 'U8';

/**
 * Whether `mask` is exactly the packed non-zero mask (padding bits 0) of the little-endian values
 * stored in `raw`, read from their bits without decoding: F32 / F16 are non-zero iff a bit other
 * than the sign is set (±0 are zero; NaN/Inf are rejected before this), I8 iff `q · scale` rounded to
 * f32 is non-zero (a 256-entry table, so a zero or underflowing scale is judged as decoding would),
 * U8 iff the byte is non-zero. Branch-free per element; `raw` must be little-endian.
 */
export function rawMaskMatches(mask: Uint8Array, raw: Uint8Array, dtype: MaskedDtype, scale = 1): boolean {
  const width = dtype === 'F32' ? 4 : dtype === 'F16' ? 2 : 1;
  const n = Math.floor(raw.length / width);
  const full = n >>> 3;
  if (mask.length !== Math.ceil(n / 8)) return false;
  const k =
    (dtype === 'F32' || dtype === 'F16') && raw.length >= MIN_KERNEL_SCAN_BYTES ? getKernel() : undefined;
  if (k) {
    if (!kernelMaskMatches(k, mask, raw, dtype as FiniteCheck, full)) return false;
    return tailMatches(mask, raw, dtype, scale, full, n);
  }
  // Typed views need alignment; a misaligned tensor (allowed by the format) is copied once.
  const data = raw.byteOffset % 4 === 0 ? raw : raw.slice();
  const words = new Uint32Array(data.buffer, data.byteOffset, Math.floor(data.length / 4));
  let expected = 0;
  if (dtype === 'F32') {
    for (let b = 0; b < full; b++) {
      const i = b * 8;
      expected = 0;
      for (let j = 0; j < 8; j++) expected |= (((words[i + j]! & 0x7fffffff) + 0x7fffffff) >>> 31) << j;
      if (expected !== mask[b]) return false;
    }
  } else if (dtype === 'F16') {
    for (let b = 0; b < full; b++) {
      const i = b * 4;
      expected = 0;
      for (let j = 0; j < 4; j++) {
        const w = words[i + j]!;
        expected |= (((w & 0x7fff) + 0x7fff) >>> 15) << (2 * j);
        expected |= ((((w >>> 16) & 0x7fff) + 0x7fff) >>> 15) << (2 * j + 1);
      }
      if (expected !== mask[b]) return false;
    }
  } else {
    const table = byteNonZero(dtype, scale);
    for (let b = 0; b < full; b++) {
      const i = b * 8;
      expected = 0;
      for (let j = 0; j < 8; j++) expected |= table[data[i + j]!]! << j;
      if (expected !== mask[b]) return false;
    }
  }
  return tailMatches(mask, data, dtype, scale, full, n);
}

/** The last mask byte when `n` is not a multiple of 8 (elements from `full` · 8 on). */
function tailMatches(
  mask: Uint8Array,
  data: Uint8Array,
  dtype: MaskedDtype,
  scale: number,
  full: number,
  n: number,
): boolean {
  if ((n & 7) === 0) return true;
  const width = dtype === 'F32' ? 4 : dtype === 'F16' ? 2 : 1;
  let expected = 0;
  const view = new DataView(data.buffer, data.byteOffset, data.length);
  const table = width === 1 ? byteNonZero(dtype, scale) : undefined;
  for (let i = full * 8; i < n; i++) {
    const nonzero =
      dtype === 'F32'
        ? (view.getUint32(4 * i, true) & 0x7fffffff) !== 0
        : dtype === 'F16'
          ? (view.getUint16(2 * i, true) & 0x7fff) !== 0
          : table![data[i]!] === 1;
    if (nonzero) expected |= 1 << (i & 7);
  }
  return expected === mask[full];
}

/**
 * The first `bytes` mask bytes against their values, in the kernel: in place when the values lie in
 * its memory (a transient read), else copied through the staging area a chunk at a time; the mask
 * chunk goes where the CRC fold keeps its values (unused between scans).
 */
function kernelMaskMatches(
  k: Kernel,
  mask: Uint8Array,
  raw: Uint8Array,
  dtype: FiniteCheck,
  bytes: number,
): boolean {
  const perByte = dtype === 'F16' ? 16 : 32;
  const inPlace = addressIn(k, raw);
  const chunk = (CHUNK_BLOCKS * BLOCK_BYTES) / perByte;
  for (let done = 0; done < bytes; done += chunk) {
    const n = Math.min(chunk, bytes - done);
    let src: number;
    if (inPlace !== undefined) {
      src = inPlace + done * perByte;
    } else {
      k.bytes.set(raw.subarray(done * perByte, (done + n) * perByte), STAGING_OFFSET);
      src = STAGING_OFFSET;
    }
    k.bytes.set(mask.subarray(done, done + n), PENDING_OFFSET);
    // Whole groups of 4 mask bytes (32 values) a pass, then the rest a byte at a time.
    const groups = n >>> 2;
    if (k.mask4[dtype](src, PENDING_OFFSET, groups) !== 0) return false;
    const rest = 4 * groups;
    if (k.mask[dtype](src + rest * perByte, PENDING_OFFSET + rest, n - rest) !== 0) return false;
  }
  return true;
}

/** 1 where a stored byte decodes to a non-zero value. */
function byteNonZero(dtype: 'I8' | 'U8' | 'F16' | 'F32', scale: number): Uint8Array {
  const table = new Uint8Array(256);
  for (let b = 0; b < 256; b++) {
    const value = dtype === 'I8' ? Math.fround(((b << 24) >> 24) * scale) : b;
    table[b] = value !== 0 ? 1 : 0;
  }
  return table;
}
