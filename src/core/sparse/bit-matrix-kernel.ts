/**
 * The count kernel: a WebAssembly module of the bit-matrix work that prepares lane operands — the
 * popcount of a packed mask (./bits.ts), ./row-gather.ts's im2col gather of a layer input's windows
 * into bit rows (whole words when the channels fall on 32-bit words, runs of bits otherwise), and
 * the 32 × 32 block bit transpose of ./operand-bits.ts's weight-stationary layout. Its memory is its
 * own, apart from the fold kernel's (./lane-fold-kernel.ts): counting a mask never touches lanes
 * loaded there. Each entry point returns undefined (or false) when the kernel cannot run here, and
 * the caller keeps its JavaScript path.
 */
import {
  add,
  add64,
  advance,
  and,
  binary,
  encodeModule,
  eq,
  forCount,
  forPointer,
  get,
  geU,
  I32,
  I64,
  i32Const,
  i32Store,
  i64Const,
  i64Store,
  increment,
  instantiate,
  load64,
  ltU,
  minU,
  mul,
  ne,
  OP,
  type Operand,
  reserveMemory,
  seq,
  set,
  shl,
  shrU,
  simd,
  sub,
  V128,
  v128Load,
  v128Store,
  type WasmFunction,
  type WasmMemory,
  whileTrue,
  wrap,
} from '../wasm-encoder.js';
import type { BitMatrix } from './bits.js';
import { LITTLE_ENDIAN, type RowGather } from './row-gather.js';

/** Bytes per word the popcount sums: one i64. */
const WORD_BYTES = 8;

/** `x < y`, `x ≥ y` signed (i32): the gathers' tap bounds, which may be negative. */
const ltS = binary(OP.i32LtS);
const geS = binary(OP.i32GeS);
/** The i64 operations of gatherBits' runs. */
const and64 = binary(OP.i64And);
const or64 = binary(OP.i64Or);
const sub64 = binary(OP.i64Sub);
const shl64 = binary(OP.i64Shl);
const shrU64 = binary(OP.i64ShrU);
/** The i32 `x` zero-extended to an i64. */
const extend = (x: Operand): number[] => seq(get(x), OP.i64ExtendI32U);

/**
 * popcount(start, end) → Σ popcnt of the i64 words at bytes [start, end) (a multiple of 8 apart).
 * Alone in a module of its own memory (with the row gathers below): counting a mask never touches
 * lanes loaded in the fold kernel's.
 * Locals after the parameters: 2 sum (i64).
 */
function popcountCode(): number[] {
  const [p, end, sum] = [0, 1, 2];
  return seq(forPointer(p, end, WORD_BYTES, set(sum, add64(sum, seq(load64(p), OP.i64Popcnt)))), wrap(sum));
}

/** The locals both gathers keep per row: its output pixel, first input column, inside taps, kernel row. */
interface RowLocals {
  readonly m: number;
  readonly oh: number;
  readonly ow: number;
  readonly iw0: number;
  readonly x0: number;
  readonly x1: number;
  readonly y: number;
  readonly ih: number;
}

/** Parameters of both gathers, in order (gatherWords reads `c` as bytes per input pixel and ignores `base`). */
const GATHER_PARAMS = [
  'src',
  'base',
  'dst',
  'rows',
  'wpr',
  'h',
  'w',
  'c',
  'fh',
  'fw',
  'sh',
  'sw',
  'pt',
  'pl',
  'dh',
  'dw',
  'wo',
  'count',
] as const;
type GatherParams = Record<(typeof GATHER_PARAMS)[number], number>;
const GATHER: GatherParams = Object.fromEntries(GATHER_PARAMS.map((name, i) => [name, i])) as GatherParams;
/** Locals 18–25 of both gathers. */
const ROW: RowLocals = { m: 18, oh: 19, ow: 20, iw0: 21, x0: 22, x1: 23, y: 24, ih: 25 };

/**
 * `for m < rows { rowStart; for y < fh: ih exists ? inside : outside }` with oh, ow, iw0, the taps
 * [x0, x1) of a kernel row inside the input's width, and ih set as ./row-gather.ts's
 * gatherWindows sets them (oh, ow counted along instead of divided).
 */
function windowRows(rowStart: number[], inside: number[], outside: number[]): number[] {
  const g = GATHER;
  const l = ROW;
  return seq(
    set(l.oh, i32Const(0)),
    set(l.ow, i32Const(0)),
    forCount(
      l.m,
      g.rows,
      seq(
        rowStart,
        set(l.iw0, sub(mul(l.ow, g.sw), g.pl)),
        set(l.x0, i32Const(0)),
        // while (x0 < fw && iw0 + x0·dw < 0) x0++
        whileTrue(and(ltS(l.x0, g.fw), ltS(add(mul(l.x0, g.dw), l.iw0), i32Const(0))), increment(l.x0)),
        set(l.x1, g.fw),
        // while (x1 > x0 && iw0 + (x1 − 1)·dw ≥ w) x1--
        whileTrue(
          and(ltS(l.x0, l.x1), geS(add(mul(sub(l.x1, i32Const(1)), g.dw), l.iw0), g.w)),
          set(l.x1, sub(l.x1, i32Const(1))),
        ),
        forCount(
          l.y,
          g.fh,
          seq(
            set(l.ih, add(sub(mul(l.oh, g.sh), g.pt), mul(l.y, g.dh))),
            // Unsigned: a negative ih is ≥ h too.
            geU(l.ih, g.h),
            OP.if,
            outside,
            OP.else,
            inside,
            OP.end,
          ),
        ),
        increment(l.ow),
        geU(l.ow, g.wo),
        OP.if,
        set(l.ow, i32Const(0)),
        increment(l.oh),
        OP.end,
      ),
    ),
  );
}

/** Input pixel (ih, iw0 + x·dw) as an index (x: a local). */
const pixelOf = (x: number): number[] => add(add(mul(ROW.ih, GATHER.w), ROW.iw0), mul(x, GATHER.dw));

/** dst + rows · wpr · 4: where the gathered rows end. */
const rowsEnd = (): number[] => add(mul(mul(GATHER.rows, GATHER.wpr), i32Const(4)), GATHER.dst);

/**
 * The rows' bytes [dst, end) popcounted when `count` is set (their last 4 bytes zeroed first when
 * the word count is odd; dst 8-aligned), else 0. Leaves the result on the stack.
 */
function countRows(end: number): number[] {
  const g = GATHER;
  return seq(
    set(end, rowsEnd()),
    get(g.count),
    OP.if,
    seq(get(end), i32Const(0), i32Store()),
    // popcount(dst, (end + 4) & ~7)
    set(end, seq(get(g.dst), and(add(end, i32Const(4)), i32Const(-8)), OP.call, 0)),
    OP.else,
    set(end, i32Const(0)),
    OP.end,
    get(end),
  );
}

/**
 * gatherWords(src, _, dst, rows, wpr, h, w, cb, …, count) → popcount or 0: gatherWindows when every
 * run is whole 32-bit words (cb = C / 8 bytes per input pixel, C a multiple of 32, the instance on a
 * word): each row is written front to back — runs of the input's bytes, zeros for padding taps —
 * 16 bytes a store, so no clearing pass and no OR. A store may run up to 12 bytes past its run; the
 * next one, further on, overwrites them (past the last row there are 16 spare bytes).
 * Locals after the 18 parameters: 18–25 the row's (ROW), 26 d, 27 s, 28 n, 29 q, 30 x, 31 end (i32).
 */
function gatherWordsCode(): number[] {
  const g = GATHER;
  const l = ROW;
  const [d, sp, n, q, x, end] = [26, 27, 28, 29, 30, 31];
  // n bytes of the source from s (copy) or zeros at d, then d += n.
  const run = (copy: boolean): number[] =>
    seq(
      set(q, i32Const(0)),
      whileTrue(
        ltU(q, n),
        seq(add(d, q), copy ? seq(add(sp, q), v128Load()) : OP.v128Zero, v128Store(), advance(q, 16)),
      ),
      set(d, add(d, n)),
    );
  const taps = (count: Operand): number[] => set(n, mul(count, g.c));
  const from = (xLocal: number): number[] => set(sp, add(mul(pixelOf(xLocal), g.c), g.src));
  const inside = seq(
    eq(g.dw, i32Const(1)),
    OP.if,
    // Adjacent taps are adjacent in the input: zeros, one run, zeros.
    taps(l.x0),
    run(false),
    from(l.x0),
    taps(sub(l.x1, l.x0)),
    run(true),
    taps(sub(g.fw, l.x1)),
    run(false),
    OP.else,
    forCount(
      x,
      g.fw,
      seq(
        taps(i32Const(1)),
        and(geU(x, l.x0), ltU(x, l.x1)),
        OP.if,
        from(x),
        run(true),
        OP.else,
        run(false),
        OP.end,
      ),
    ),
    OP.end,
  );
  const outside = seq(taps(g.fw), run(false));
  return seq(set(d, g.dst), windowRows([], inside, outside), countRows(end));
}

/**
 * gatherBits(src, base, dst, rows, wpr, h, w, c, …, count) → popcount or 0: gatherWindows for any
 * channel count and first bit (input bit i at bit base + i from byte src): the rows are cleared, then
 * every run is ORed in up to 56 bits at a time — an unaligned i64 read shifted by the source's bit
 * within its byte and cut to the run, ORed into an unaligned i64 at the destination's byte (its
 * other bits zero, so the bytes it also covers keep theirs). Reads and writes reach 8 bytes past a
 * run, the clearing 12.
 * Locals after the 18 parameters: 18–25 the row's (ROW), 26 rowBit, 27 from, 28 to, 29 left, 30 k,
 * 31 x, 32 end, 33 addr (i32), 34 v (i64).
 */
function gatherBitsCode(): number[] {
  const g = GATHER;
  const l = ROW;
  const [rowBit, from, to, left, k, x, end, addr, v] = [26, 27, 28, 29, 30, 31, 32, 33, 34];
  const bitInByte = (local: number): number[] => extend(and(local, i32Const(7)));
  const byteOf = (local: number, base: number): number[] => add(shrU(local, i32Const(3)), base);
  // OR bits [from, from + left) of the source into the rows from bit `to`.
  const orRun = whileTrue(
    ne(left, i32Const(0)),
    seq(
      set(k, minU(left, i32Const(56))),
      // v = the i64 at the source's byte, shifted down by its bit, cut to the k bits (1 << k) − 1.
      set(
        v,
        and64(
          shrU64(load64(byteOf(from, g.src)), bitInByte(from)),
          sub64(shl64(i64Const(1), extend(k)), i64Const(1)),
        ),
      ),
      set(addr, byteOf(to, g.dst)),
      seq(get(addr), or64(load64(addr), shl64(v, bitInByte(to))), i64Store()),
      set(from, add(from, k)),
      set(to, add(to, k)),
      set(left, sub(left, k)),
    ),
  );
  // The run of `count` taps from tap xLocal of kernel row y.
  const runFrom = (xLocal: number, count: Operand): number[] =>
    seq(
      set(from, add(mul(pixelOf(xLocal), g.c), g.base)),
      set(to, add(mul(add(mul(l.y, g.fw), xLocal), g.c), rowBit)),
      set(left, mul(count, g.c)),
      orRun,
    );
  const inside = seq(
    eq(g.dw, i32Const(1)),
    OP.if,
    runFrom(l.x0, sub(l.x1, l.x0)),
    OP.else,
    set(x, l.x0),
    whileTrue(ltS(x, l.x1), seq(runFrom(x, i32Const(1)), increment(x))),
    OP.end,
  );
  const rowStart = set(rowBit, shl(mul(l.m, g.wpr), i32Const(5)));
  return seq(
    set(addr, g.dst),
    set(end, rowsEnd()),
    forPointer(addr, end, 16, seq(get(addr), OP.v128Zero, v128Store())),
    windowRows(rowStart, inside, []),
    countRows(end),
  );
}

const I8X16_SHUFFLE = (...lanes: number[]): number[] => simd(0x0d, ...lanes);
const V128_LOAD32_ZERO = simd(0x5c, 2, 0);
const V128_LOAD32_LANE = (lane: number): number[] => simd(0x56, 2, 0, lane);
const I32_STORE16 = [0x3b, 1, 0];

/**
 * transpose(src, wpr, rowBlocks, dst, dwpr) → 0: dst = srcᵀ by 32 × 32 bit blocks (rows of 32-bit
 * words, bit c of a word is column c; src has rowBlocks · 32 rows of wpr words, dst wpr · 32 rows of
 * dwpr words). Per block and half (16 source rows): the rows' words go four to a vector, two rounds
 * of byte shuffles put byte b of all 16 rows in vector b, and i8x16.bitmask reads one bit of each of
 * its bytes — bit 7, then (the bytes doubled) bit 6, … — which is output column 8b + i for those
 * 16 rows, stored as half of its word: ~7 instructions per word against ~25 for the JavaScript rounds.
 * Locals after the 5 parameters: 5 rb, 6 wc, 7 row (the next source word), 8 stride (wpr · 4),
 * 9 out (the block's column 0 in dst, this half), 10 colStride (dwpr · 4) (i32); 11–14 v0..v3,
 * 15–18 s0..s3, 19 bits (v128).
 */
function transposeCode(): number[] {
  const [src, wpr, rowBlocks, dst, dwpr] = [0, 1, 2, 3, 4];
  const [rb, wc, row, stride, out, colStride] = [5, 6, 7, 8, 9, 10];
  const [v0, v1, v2, v3] = [11, 12, 13, 14];
  const [s0, s1, s2, s3] = [15, 16, 17, 18];
  const bits = 19;
  const nextRow = set(row, add(row, stride));
  // v_q = the words of rows 4q..4q + 3 (lane l: row 4q + l); row moves on a row per word.
  const loadRows = seq(
    ...[v0, v1, v2, v3].map((vq) =>
      seq(
        set(vq, seq(get(row), V128_LOAD32_ZERO)),
        nextRow,
        ...[1, 2, 3].map((lane) => seq(set(vq, seq(get(row), get(vq), V128_LOAD32_LANE(lane))), nextRow)),
      ),
    ),
  );
  const fourths = [0, 4, 8, 12, 16, 20, 24, 28];
  // Bytes b and b + 1 of the eight rows of two vectors (byte b of lane l is lane byte 4l + b).
  const byteRows = (x: number, y: number, b: number): number[] =>
    seq(get(x), get(y), I8X16_SHUFFLE(...fourths.map((i) => i + b), ...fourths.map((i) => i + b + 1)));
  // The first (or second) eight bytes of both vectors: byte b of rows 0–7 then of rows 8–15.
  const sixteen = (x: number, y: number, second: boolean): number[] => {
    const o = second ? 8 : 0;
    const lanes = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => i + o);
    return seq(get(x), get(y), I8X16_SHUFFLE(...lanes, ...lanes.map((i) => i + 16)));
  };
  // Output columns 8b + 7 down to 8b from `byteB`, byte b of the 16 rows.
  const columns = (b: number, byteB: number[]): number[] =>
    seq(
      set(bits, byteB),
      ...[7, 6, 5, 4, 3, 2, 1, 0].map((i) =>
        seq(
          add(out, mul(i32Const(8 * b + i), colStride)),
          get(bits),
          OP.i8x16Bitmask,
          I32_STORE16,
          i > 0 ? set(bits, seq(get(bits), get(bits), OP.i8x16Add)) : [],
        ),
      ),
    );
  const half = (h: number): number[] =>
    seq(
      // row = src + (32·rb + 16·h) · stride + 4·wc; out = dst + 4·(32·wc · dwpr + rb) + 2·h
      set(
        row,
        add(add(mul(add(mul(rb, i32Const(32)), i32Const(16 * h)), stride), src), mul(wc, i32Const(4))),
      ),
      loadRows,
      set(
        out,
        add(add(mul(mul(wc, i32Const(32)), colStride), mul(rb, i32Const(4))), add(dst, i32Const(2 * h))),
      ),
      set(s0, byteRows(v0, v1, 0)),
      set(s1, byteRows(v0, v1, 2)),
      set(s2, byteRows(v2, v3, 0)),
      set(s3, byteRows(v2, v3, 2)),
      columns(0, sixteen(s0, s2, false)),
      columns(1, sixteen(s0, s2, true)),
      columns(2, sixteen(s1, s3, false)),
      columns(3, sixteen(s1, s3, true)),
    );
  return seq(
    set(stride, mul(wpr, i32Const(4))),
    set(colStride, mul(dwpr, i32Const(4))),
    forCount(rb, rowBlocks, forCount(wc, wpr, seq(half(0), half(1)))),
    i32Const(0),
  );
}

type GatherFunction = (...args: number[]) => number;

interface CountKernel {
  readonly popcount: (start: number, end: number) => number;
  readonly gatherWords: GatherFunction;
  readonly gatherBits: GatherFunction;
  readonly transpose: GatherFunction;
  readonly memory: WasmMemory;
  /** Byte and word views of `memory`, renewed after it grows. */
  bytes: Uint8Array;
  words: Uint32Array;
}

let countKernel: CountKernel | null | undefined;

function getCountKernel(): CountKernel | undefined {
  if (countKernel === undefined) {
    const gather = (name: string, code: number[], i32s: number, i64s: number): WasmFunction => ({
      name,
      params: GATHER_PARAMS.length,
      locals:
        i64s > 0
          ? [
              [i32s, I32],
              [i64s, I64],
            ]
          : [[i32s, I32]],
      code,
    });
    // popcount first: the gathers call function 0.
    const functions: WasmFunction[] = [
      { name: 'popcount', params: 2, locals: [[1, I64]], code: popcountCode() },
      gather('gatherWords', gatherWordsCode(), 14, 0),
      gather('gatherBits', gatherBitsCode(), 16, 1),
      {
        name: 'transpose',
        params: 5,
        locals: [
          [6, I32],
          [9, V128],
        ],
        code: transposeCode(),
      },
    ];
    const exports = instantiate(encodeModule(functions, 1));
    const memory = exports?.memory as WasmMemory | undefined;
    countKernel =
      exports && memory
        ? {
            popcount: exports.popcount as CountKernel['popcount'],
            gatherWords: exports.gatherWords as GatherFunction,
            gatherBits: exports.gatherBits as GatherFunction,
            transpose: exports.transpose as GatherFunction,
            memory,
            bytes: new Uint8Array(memory.buffer),
            words: new Uint32Array(memory.buffer),
          }
        : null;
  }
  return countKernel ?? undefined;
}

/** Whether the count kernel can run here (WebAssembly with SIMD); tests compare both paths. */
export function bitMatrixKernelAvailable(): boolean {
  return getCountKernel() !== undefined;
}

/** The count kernel with at least `bytes` of memory and views of all of it. */
function countKernelWith(bytes: number): CountKernel | undefined {
  const k = getCountKernel();
  if (!k) return undefined;
  reserveMemory(k.memory, bytes);
  if (k.bytes.buffer !== k.memory.buffer) {
    k.bytes = new Uint8Array(k.memory.buffer);
    k.words = new Uint32Array(k.memory.buffer);
  }
  return k;
}

/**
 * Set bits of the first `bytes` bytes of `packed` (i64.popcnt over a copy in the kernel's memory: a
 * memcpy and one instruction per 8 bytes, where JavaScript's SWAR costs ~12 per 4); undefined when
 * the kernel is not available.
 */
export function popcountBytes(packed: Uint8Array, bytes: number): number | undefined {
  // The kernel sums in 32 bits: a mask of 2^31 bits or more is left to the caller.
  if (bytes >= 2 ** 28) return undefined;
  const end = Math.ceil(bytes / WORD_BYTES) * WORD_BYTES;
  const k = countKernelWith(Math.max(end, packed.length));
  if (!k) return undefined;
  // The whole mask (no subarray view per call), then zeros over what lies past `bytes`.
  k.bytes.set(packed);
  k.bytes.fill(0, bytes, end);
  return k.popcount(0, end);
}

/**
 * ./row-gather.ts's `gatherWindows` in the count kernel (little-endian hosts, as `gatherWindows`'s
 * windows): `dst` (M × K) gets A's rows of the
 * instance whose input starts at bit `from` of `mask` (null: all ones, the padding pattern). The
 * input's bytes are copied in, gathered (whole words 16 bytes a store when the channels and the
 * instance fall on words, runs of up to 56 bits otherwise) and the rows copied out. Returns their
 * set bits when `count` (else 0); undefined when the kernel is not available or the bits would not
 * fit its 32-bit offsets (the caller then gathers in JavaScript).
 */
export function gatherInKernel(
  g: RowGather,
  mask: Uint8Array | null,
  from: number,
  dst: BitMatrix,
  count: boolean,
): number | undefined {
  const base = from & 31;
  const firstByte = (from >>> 5) * 4;
  const needed = Math.ceil((base + g.h * g.w * g.c) / 8);
  const bytes = mask ? Math.max(0, Math.min(mask.length - firstByte, needed)) : 0;
  // Zeros (or the ones of the padding pattern) past the input, for the runs' reads past their ends.
  const srcBytes = Math.ceil((needed + 16) / 16) * 16;
  const rowWords = dst.rows * dst.wordsPerRow;
  const total = srcBytes + rowWords * 4 + 16;
  if (total >= 2 ** 28) return undefined;
  const k = countKernelWith(total);
  if (!k) return undefined;
  if (mask) {
    k.bytes.set(mask.subarray(firstByte, firstByte + bytes));
    k.bytes.fill(0, bytes, srcBytes);
  } else {
    k.bytes.fill(0xff, 0, srcBytes);
  }
  const words = ((g.c | base) & 31) === 0;
  const n = (words ? k.gatherWords : k.gatherBits)(
    0,
    base,
    srcBytes,
    dst.rows,
    dst.wordsPerRow,
    g.h,
    g.w,
    words ? g.c >>> 3 : g.c,
    g.fh,
    g.fw,
    g.sh,
    g.sw,
    g.pt,
    g.pl,
    g.dh,
    g.dw,
    g.wo,
    count ? 1 : 0,
  );
  dst.words.set(k.words.subarray(srcBytes >>> 2, (srcBytes >>> 2) + rowWords));
  return n;
}

/**
 * dst (src.cols × src.rows) = srcᵀ in the count kernel (`transpose`): src copied in with zero rows
 * up to a whole block, dst's rows copied out; every word of dst is written. False when the kernel
 * is not available or the matrices would not fit its 32-bit offsets (the caller transposes in
 * JavaScript).
 */
export function transposeInKernel(src: BitMatrix, dst: BitMatrix): boolean {
  const rowBlocks = Math.ceil(src.rows / 32);
  const srcWords = rowBlocks * 32 * src.wordsPerRow;
  const dstAt = srcWords * 4;
  const dstWords = src.wordsPerRow * 32 * dst.wordsPerRow;
  const total = dstAt + dstWords * 4;
  // The shuffles take a word's bytes in little-endian order, as the words are copied in on this host.
  if (total >= 2 ** 28 || dst.wordsPerRow !== rowBlocks || !LITTLE_ENDIAN) return false;
  const k = countKernelWith(total);
  if (!k) return false;
  const used = src.rows * src.wordsPerRow;
  k.words.set(src.words.subarray(0, used));
  k.words.fill(0, used, srcWords);
  k.transpose(0, src.wordsPerRow, rowBlocks, dstAt, dst.wordsPerRow);
  dst.words.set(k.words.subarray(dstAt >>> 2, (dstAt >>> 2) + dst.rows * dst.wordsPerRow));
  return true;
}
