/**
 * The fold kernel: the AND + popcount hot loop of element-granularity lane timing (./lane-timing.ts)
 * as a small WebAssembly module. For every lane (row r, column c) of a fold, the set bits of
 * rowBits[r] AND colBits[c], per look-ahead window and in total. JavaScript has no popcount
 * instruction (the SWAR sequence of ./bits.ts costs ~12 operations per 32-bit word); WebAssembly's
 * `i64.popcnt` compiles to the CPU's own on x86-64 and ARM64, one per 64 bits. Bit rows are copied
 * into the kernel's memory once per GEMM instance (O((rows + cols) · words)), then every fold runs
 * there (O(rows · cols · words)). Results are the same integers as the JavaScript loop (tested).
 * Without WebAssembly the caller keeps its JavaScript loop. The operands' own preparation (mask
 * popcount, row gather, bit transpose) is the count kernel's, ./bit-matrix-kernel.ts.
 */
import { ceilDiv } from '../ceil-div.js';
import {
  add,
  add64,
  advance,
  and,
  doWhile,
  encodeModule,
  eq,
  F64,
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
  load32,
  load64,
  ltU,
  maxU,
  minU,
  mul,
  ne,
  OP,
  type Operand,
  reserveMemory,
  seq,
  set,
  shrU,
  sub,
  tee,
  until,
  V128,
  v128Load,
  type WasmFunction,
  type WasmMemory,
  whileTrue,
  wrap,
} from '../wasm-encoder.js';
import type { BitMatrix } from './bits.js';

/** Bytes per counting unit: one i64. */
const UNIT_BYTES = 8;

/** `*ptr = max(*ptr, value)` (unsigned i32, branch-free), then `ptr += 4` (i32 locals). */
const storeMaxU = (ptr: number, value: number): number[] =>
  seq(get(ptr), maxU(value, load32(ptr)), i32Store(), advance(ptr, 4));

/** popcnt(x & y) (i64). */
const andCount = (x: Operand, y: Operand): number[] => seq(get(x), get(y), OP.i64And, OP.i64Popcnt);

/**
 * fold(a, aStride, b, bStride, rows, cols, units, windows, winMax, totals) → work:
 * for r < rows, c < cols: per window w < windows, count = Σ over `units` i64 words u of
 * popcnt(A[r][w·units + u] & B[c][w·units + u]) (A row r at a + r·aStride, B row c at b + c·bStride,
 * strides in bytes); winMax[w] = max(winMax[w], count) (i32 at winMax + 4w); totals[r·cols + c] =
 * Σ_w count (i32 at totals); returns Σ of the totals (the caller keeps it below 2^31). Columns go
 * two at a time (each A word loaded once for both lanes, one winMax update per pair: a third fewer
 * operations per lane), then the last one of an odd count.
 * Locals after the 10 parameters: 10 r, 11 c, 12 aRow, 13 bRow, 14 w, 15 u, 16 count, 17 total,
 * 18 out, 19 maxPtr, 20 sum (i64), 21 bRow1, 22 count1, 23 total1, 24 pair, 25 pairs (i32),
 * 26 sum1, 27 aWord (i64), 28 work (i32).
 */
function foldCode(): number[] {
  const [a, aStride, b, bStride, rows, cols, units, windows, winMax, totals] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const [r, c, aRow, bRow, w, u, count, total, out, maxPtr, sum] = [
    10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
  ];
  const [bRow1, count1, total1, pair, pairs, sum1, aWord, work] = [21, 22, 23, 24, 25, 26, 27, 28];
  // sum (+ sum1) += popcnt(A & B) of the unit at byte `offset` of the rows; A loaded once.
  const unitCounts = (two: boolean, offset: number): number[] => {
    const aUnit = load64(aRow, offset);
    return seq(
      set(sum, add64(sum, andCount(two ? tee(aWord, aUnit) : aUnit, load64(bRow, offset)))),
      two ? set(sum1, add64(sum1, andCount(aWord, load64(bRow1, offset)))) : [],
    );
  };
  const advanceRows = (two: boolean, bytes: number): number[] =>
    seq(advance(aRow, bytes), advance(bRow, bytes), two ? advance(bRow1, bytes) : []);
  const zeroSums = (two: boolean): number[] => seq(set(sum, i64Const(0)), two ? set(sum1, i64Const(0)) : []);
  // One window of one lane (c) or two (c, c + 1): the counts, winMax, the lane totals.
  const windowsLoop = (two: boolean): number[] =>
    forCount(
      w,
      windows,
      seq(
        ne(units, i32Const(2)),
        OP.if,
        zeroSums(two),
        forCount(u, units, seq(unitCounts(two, 0), advanceRows(two, UNIT_BYTES))),
        OP.else,
        // A window of two units (128 dense steps, the common look-ahead) unrolled: no inner loop.
        zeroSums(two),
        unitCounts(two, 0),
        unitCounts(two, UNIT_BYTES),
        advanceRows(two, 2 * UNIT_BYTES),
        OP.end,
        set(count, wrap(sum)),
        two
          ? seq(
              set(count1, wrap(sum1)),
              set(total1, add(total1, count1)),
              set(total, add(total, count)),
              // count = max(count, count1): the pair's contribution to winMax.
              set(count, maxU(count1, count)),
            )
          : set(total, add(total, count)),
        // winMax[w] = max(winMax[w], count), branch-free.
        storeMaxU(maxPtr, count),
      ),
    );
  // Lanes (r, c) and, with `two`, (r, c + 1): their windows, then their totals at `out`.
  const lanes = (two: boolean): number[] => {
    const bRowOfC = tee(bRow, add(b, mul(c, bStride)));
    return seq(
      set(aRow, add(a, mul(r, aStride))),
      two ? set(bRow1, add(bRowOfC, bStride)) : seq(bRowOfC, OP.drop),
      set(maxPtr, winMax),
      set(total, i32Const(0)),
      two ? set(total1, i32Const(0)) : [],
      windowsLoop(two),
      get(out),
      get(total),
      i32Store(),
      two ? seq(get(out), get(total1), i32Store(4)) : [],
      advance(out, two ? 8 : 4),
      set(work, two ? add(add(work, total), total1) : add(work, total)),
    );
  };
  return seq(
    set(pairs, shrU(cols, i32Const(1))),
    set(out, totals),
    forCount(
      r,
      rows,
      seq(
        forCount(pair, pairs, seq(set(c, add(pair, pair)), lanes(true))),
        // An odd column count leaves the last column alone.
        and(cols, i32Const(1)),
        OP.if,
        set(c, sub(cols, i32Const(1))),
        lanes(false),
        OP.end,
      ),
    ),
    get(work),
  );
}

/**
 * foldQuad(a, aStride, b, bStride, rows, cols, units, windows, winMax, totals) → work: `fold` four lanes
 * (r, c..c + 3) per pass over B rows stored four-way interleaved (`interleave`: per group of
 * four columns, unit g of lane j at byte 32g + 8j of the group's bStride·4 bytes), so one pointer
 * with constant offsets reaches all four lanes, each A unit is loaded once for four lanes, and the
 * window's busiest lane, its winMax update and the loop count once per four lanes. `b` is the group
 * of column 0 (columns start on a group: c0 a multiple of 4, the columns past the last one zeros).
 * The totals of a last group of fewer than four lanes are stored whole: past the row's last lane,
 * overwritten by the next row's, or into 12 spare bytes after the totals. `totals` must follow
 * winMax's `windows` words (the window loop ends there).
 * A last window of one unit of the rows (an odd unit count, a window of two) counts that unit only.
 * Locals after the 10 parameters: 10 r, 11 c, 12 aRow, 13 p, 14 maxPtr, 15 u, 16 fullEnd (where
 * the windows of two whole units end), 17 out, 18 m, 19–22 n0..n3 (i32); 23–26 s0..s3, 27 A,
 * 28 A1, 29 t01, 30 t23, 31 work (i64: the even lanes' totals in the low half, the odd lanes' in
 * the high; each below 2^31 as the caller keeps the whole work, so no carry crosses); 32 aRow0
 * (the row's A), 33 group (the group's B), 34 rowOut, 35 groupBytes (i32).
 */
function foldQuadCode(): number[] {
  const [a, aStride, b, bStride, rows, cols, units, , winMax, totals] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const [r, c, aRow, p, maxPtr, u, fullEnd, out, m] = [10, 11, 12, 13, 14, 15, 16, 17, 18];
  const [aRow0, group, rowOut, groupBytes] = [32, 33, 34, 35];
  const ns = [19, 20, 21, 22];
  const ss = [23, 24, 25, 26];
  const [A, A1] = [27, 28];
  // Lane totals two to an i64 (lane 2j in the low half, 2j + 1 in the high; a total < 2^32): two
  // registers instead of four, so the window loop keeps its pointers out of memory.
  const pairTotals = [29, 30];
  const work = 31;
  // winMax ends where the totals start: the window loop runs until maxPtr reaches `totals`.
  const end = totals;
  const lanes = [0, 1, 2, 3];
  // popcnt(a & (unit of lane j at p + offset)), an i64 on the stack.
  const count = (aWord: number, offset: number): number[] => andCount(aWord, load64(p, offset));
  // s · 2^32: a lane total in the high half of an i64.
  const high = (s: number): number[] => seq(get(s), i64Const(32), OP.i64Shl);
  // Per window, after the counts n0..n3: the totals, the busiest of the four, winMax, the next window.
  const windowTail = seq(
    ...pairTotals.map((t, i) => set(t, add64(t, add64(ss[2 * i]!, high(ss[2 * i + 1]!))))),
    set(m, ns[0]!),
    ...ns.slice(1).map((n) => set(m, maxU(m, n))),
    storeMaxU(maxPtr, m),
  );
  // Windows until maxPtr reaches `limit` (`guarded`: maybe none).
  const windowLoop = (body: number[], limit: number, guarded: boolean): number[] =>
    guarded
      ? whileTrue(ltU(maxPtr, limit), seq(body, windowTail))
      : doWhile(seq(body, windowTail), ltU(maxPtr, limit));
  // A window of two units (128 dense steps, the common look-ahead), unrolled.
  const twoUnits = seq(
    set(A, load64(aRow)),
    set(A1, load64(aRow, UNIT_BYTES)),
    ...lanes.map((j) =>
      set(ns[j]!, wrap(tee(ss[j]!, add64(count(A, UNIT_BYTES * j), count(A1, UNIT_BYTES * (4 + j)))))),
    ),
    advance(aRow, 2 * UNIT_BYTES),
    advance(p, 8 * UNIT_BYTES),
  );
  // The last window when it holds one unit of the rows (the other is B's zero padding): that one.
  const oneUnit = seq(
    set(A, load64(aRow)),
    ...lanes.map((j) => set(ns[j]!, wrap(tee(ss[j]!, count(A, UNIT_BYTES * j))))),
  );
  const anyUnits = seq(
    ...ss.map((sj) => set(sj, i64Const(0))),
    forCount(
      u,
      units,
      seq(
        set(A, load64(aRow)),
        ...lanes.map((j) => set(ss[j]!, add64(ss[j]!, count(A, UNIT_BYTES * j)))),
        advance(aRow, UNIT_BYTES),
        advance(p, 4 * UNIT_BYTES),
      ),
    ),
    ...lanes.map((j) => set(ns[j]!, wrap(ss[j]!))),
  );
  // Every row r, every group of four columns from c = 0: `windows` into the pair totals, stored at
  // `out` (16 bytes a group; a row's totals end cols · 4 bytes after its first).
  const allLanes = (windows: number[]): number[] =>
    forCount(
      r,
      rows,
      seq(
        set(aRow0, add(a, mul(r, aStride))),
        set(group, b),
        set(rowOut, out),
        set(c, i32Const(0)),
        doWhile(
          seq(
            set(aRow, aRow0),
            set(p, group),
            set(maxPtr, winMax),
            ...pairTotals.map((t) => set(t, i64Const(0))),
            windows,
            ...pairTotals.map((t, i) => seq(get(out), get(t), i64Store(8 * i))),
            set(work, add64(work, add64(pairTotals[0]!, pairTotals[1]!))),
            advance(out, 16),
            set(group, add(group, groupBytes)),
            advance(c, 4),
          ),
          ltU(c, cols),
        ),
        set(out, add(rowOut, mul(cols, i32Const(4)))),
      ),
    );
  // The rows' units, ⌈(aStride / 4) / 2⌉, are odd: the last two-unit window holds one (A all ones,
  // aStride 0: both are counted, B's padding zeros meet the second).
  const oddTail = and(
    ne(aStride, i32Const(0)),
    and(shrU(add(shrU(aStride, i32Const(2)), i32Const(1)), i32Const(1)), i32Const(1)),
  );
  return seq(
    set(out, totals),
    set(groupBytes, mul(bStride, i32Const(4))),
    eq(units, i32Const(2)),
    OP.if,
    set(fullEnd, sub(end, mul(oddTail, i32Const(4)))),
    allLanes(seq(windowLoop(twoUnits, fullEnd, true), ne(fullEnd, end), OP.if, oneUnit, windowTail, OP.end)),
    OP.else,
    allLanes(windowLoop(anyUnits, end, false)),
    OP.end,
    // The even lanes' totals plus the odd lanes'.
    add(wrap(work), wrap(seq(get(work), i64Const(32), OP.i64ShrU))),
  );
}

/**
 * folds(a, aStride, b, bStride, rows, cols, arrayRows, arrayCols, units, windows, bins, scratch,
 * out, hist) → number of folds: every fold of an array of arrayRows × arrayCols lanes over lane rows
 * [0, rows) and columns [0, cols), row folds outer, each through `callee` (`fold` or `foldQuad`, which
 * returns the fold's work) into scratch (winMax: windows i32, then the fold's lane totals). Per fold
 * f: out[2f] = Σ_w winMax[w] (the fold's stream), out[2f + 1] = Σ lane totals (its work); with
 * bins > 0, hist[bin] += 1 per lane, bin = min(bins − 1, floor(total / busiest · bins)) in f64 as
 * JavaScript computes it (busiest 0: bin 0).
 *
 * The histogram without a division per lane: for a fold's busiest b > 0 the bin only grows with the
 * total (division and product by positive constants round monotonically), so bin j starts at the
 * least total t_j whose f64 bin is ≥ j — found from the exact-arithmetic guess ⌊j·b / bins⌋ and
 * moved up by single steps under the f64 rule itself (a step or none) — and the lanes with
 * total ≥ t_j are counted four at a time (i32x4.ge_u); bin j gets count(t_j) − count(t_{j+1}).
 * Locals after the 14 parameters: 14 r0, 15 c0, 16 rn, 17 cn, 18 p, 19 end, 20 stream, 21 work,
 * 22 busiest, 23 t, 24 totalsPtr, 25 folds, 26 bin, 27 rest, 28 lastBin (i32), 29 scale (f64),
 * 30 j, 31 below (lanes under the previous threshold's count), 32 count, 33 vEnd (end of the whole
 * vectors of totals), 34 lanes, 35 blockEnd (end of the whole blocks of four vectors) (i32),
 * 36 busiestF (f64), 37 acc, 38 splat (v128).
 */
function foldsCode(callee: number): number[] {
  const [a, aStride, b, bStride, rows, cols, arrayRows, arrayCols, units, windows, bins, scratch, out, hist] =
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
  const [r0, c0, rn, cn, p, end, stream, work, busiest, t, totalsPtr, folds, bin, rest, lastBin, scale] = [
    14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29,
  ];
  const [j, below, count, vEnd, lanes, blockEnd, busiestF, acc, splat] = [30, 31, 32, 33, 34, 35, 36, 37, 38];
  const toF64 = (x: Operand): number[] => seq(get(x), OP.f64ConvertI32U);
  /** The f64 bin of the total `x` (before the cap at bins − 1), busiest > 0. */
  const binOf = (x: Operand): number[] =>
    seq(toF64(x), get(busiestF), OP.f64Div, get(scale), OP.f64Mul, OP.f64Floor, OP.i32TruncF64U);
  /** hist[index] += value. */
  const histAdd = (index: Operand, value: Operand): number[] =>
    seq(tee(bin, add(hist, mul(index, i32Const(4)))), add(load32(bin), value), i32Store());
  /** Lane `lane` of acc (i32x4). */
  const accLane = (lane: number): number[] => seq(get(acc), OP.i32x4ExtractLane(lane));
  // busiest = max of the fold's totals, four at a time then the rest.
  const findBusiest = seq(
    set(acc, OP.v128Zero),
    set(p, totalsPtr),
    forPointer(p, vEnd, 16, set(acc, seq(get(acc), get(p), v128Load(), OP.i32x4MaxU))),
    set(busiest, i32Const(0)),
    ...[0, 1, 2, 3].map((lane) => seq(set(t, accLane(lane)), set(busiest, maxU(busiest, t)))),
    forPointer(p, end, 4, seq(set(t, load32(p)), set(busiest, maxU(busiest, t)))),
  );
  // acc −= (total > t − 1) per lane of the vector at p + offset (signed: totals stay below 2^31).
  const countVector = (offset: number): number[] =>
    set(acc, seq(get(acc), get(p), v128Load(offset), get(splat), OP.i32x4GtS, OP.i32x4Sub));
  // count = lanes whose total ≥ t (t ≥ 1): sixteen a pass, then four, then one.
  const countFrom = seq(
    set(splat, seq(sub(t, i32Const(1)), OP.i32x4Splat)),
    set(acc, OP.v128Zero),
    set(p, totalsPtr),
    forPointer(p, blockEnd, 64, seq(...[0, 16, 32, 48].map(countVector))),
    forPointer(p, vEnd, 16, countVector(0)),
    set(count, seq(...[0, 1, 2, 3].map(accLane), OP.i32Add, OP.i32Add, OP.i32Add)),
    forPointer(p, end, 4, set(count, add(count, geU(load32(p), t)))),
  );
  // t = the least total whose bin is ≥ j: up from ⌊j·b / bins⌋ (exact: j·b is an integer below 2^53,
  // and a non-integer quotient lies ≥ 1 / bins from the next integer, far beyond the rounding) while
  // the f64 rule puts t below j. The guess minus one is never in bin j: its f64 value is at most
  // (j − bins / b)(1 + 2^−52)², below j while b · j < 2^51 · bins.
  const threshold = seq(
    set(t, seq(toF64(j), get(busiestF), OP.f64Mul, get(scale), OP.f64Div, OP.i32TruncF64U)),
    // Ends by t = busiest at the latest, whose bin is bins.
    until(geU(binOf(t), j), increment(t)),
  );
  const histogram = seq(
    get(busiest),
    OP.i32Eqz,
    OP.if,
    // Every total is 0: all in bin 0.
    histAdd(i32Const(0), lanes),
    OP.else,
    set(busiestF, toF64(busiest)),
    set(below, lanes),
    set(j, i32Const(1)),
    forPointer(
      j,
      bins,
      1,
      seq(threshold, countFrom, histAdd(sub(j, i32Const(1)), sub(below, count)), set(below, count)),
    ),
    histAdd(lastBin, below),
    OP.end,
  );
  const fold = seq(
    set(rest, sub(cols, c0)),
    set(cn, minU(arrayCols, rest)),
    // winMax = 0
    set(p, scratch),
    forPointer(p, totalsPtr, 4, seq(get(p), i32Const(0), i32Store())),
    set(
      work,
      seq(
        add(a, mul(r0, aStride)),
        get(aStride),
        add(b, mul(c0, bStride)),
        ...[bStride, rn, cn, units, windows, scratch, totalsPtr].map(get),
        OP.call,
        callee,
      ),
    ),
    // stream = Σ winMax
    set(stream, i32Const(0)),
    set(p, scratch),
    forPointer(p, totalsPtr, 4, set(stream, add(stream, load32(p)))),
    get(bins),
    OP.if,
    set(lanes, mul(rn, cn)),
    // The ends of the totals, of their whole vectors, and of their whole blocks of four vectors.
    ...[
      [end, -1],
      [vEnd, -4],
      [blockEnd, -16],
    ].map(([local, whole]) => set(local!, add(mul(and(lanes, i32Const(whole!)), i32Const(4)), totalsPtr))),
    findBusiest,
    histogram,
    OP.end,
    // out[2f] = stream, out[2f + 1] = work
    tee(t, add(out, mul(folds, i32Const(8)))),
    get(stream),
    i32Store(),
    get(t),
    get(work),
    i32Store(4),
    increment(folds),
  );
  const colFolds = seq(set(c0, i32Const(0)), doWhile(fold, ltU(tee(c0, add(c0, arrayCols)), cols)));
  return seq(
    set(totalsPtr, add(scratch, mul(windows, i32Const(4)))),
    set(lastBin, sub(bins, i32Const(1))),
    set(scale, toF64(bins)),
    set(folds, i32Const(0)),
    set(r0, i32Const(0)),
    doWhile(
      seq(set(rest, sub(rows, r0)), set(rn, minU(arrayRows, rest)), colFolds),
      ltU(tee(r0, add(r0, arrayRows)), rows),
    ),
    get(folds),
  );
}

/**
 * interleave(src, rows, wpr, dst, paddedWords) → 0: B for `foldQuad` — rows of wpr
 * words at src, unit g (two words) of row r to byte 32g + 8(r mod 4) of its group of four
 * (paddedWords · 16 bytes a group, from dst), an odd last word with a zero word, zeros up to
 * paddedWords. Locals after the 5 parameters: 5 r, 6 s, 7 d, 8 end (of the row's whole units),
 * 9 rowEnd (of its padded units) (i32).
 */
function interleaveCode(): number[] {
  const [src, rows, wpr, dst, paddedWords] = [0, 1, 2, 3, 4];
  const [r, sp, d, end, rowEnd] = [5, 6, 7, 8, 9];
  return seq(
    set(sp, src),
    forCount(
      r,
      rows,
      seq(
        // d = dst + 4 · ((r >> 2) · 4 · paddedWords + 2 · (r & 3))
        set(
          d,
          add(
            dst,
            mul(
              add(
                mul(mul(shrU(r, i32Const(2)), i32Const(4)), paddedWords),
                mul(and(r, i32Const(3)), i32Const(2)),
              ),
              i32Const(4),
            ),
          ),
        ),
        set(rowEnd, add(d, mul(paddedWords, i32Const(16)))),
        set(end, add(d, mul(shrU(wpr, i32Const(1)), i32Const(32)))),
        forPointer(d, end, 32, seq(get(d), load64(sp), i64Store(), advance(sp, 8))),
        // An odd last word, with a zero word.
        and(wpr, i32Const(1)),
        OP.if,
        get(d),
        load32(sp),
        OP.i64ExtendI32U,
        i64Store(),
        advance(sp, 8),
        advance(d, 32),
        set(sp, sub(sp, i32Const(4))),
        OP.end,
        forPointer(d, rowEnd, 32, seq(get(d), i64Const(0), i64Store())),
      ),
    ),
    i32Const(0),
  );
}

type FoldsFunction = (
  a: number,
  aStride: number,
  b: number,
  bStride: number,
  rows: number,
  cols: number,
  arrayRows: number,
  arrayCols: number,
  units: number,
  windows: number,
  bins: number,
  scratch: number,
  out: number,
  hist: number,
) => number;

type FoldFunction = (
  a: number,
  aStride: number,
  b: number,
  bStride: number,
  rows: number,
  cols: number,
  units: number,
  windows: number,
  winMax: number,
  totals: number,
) => number;

/** One counting loop: its `fold` and the `folds` that calls it. */
interface FoldPair {
  readonly fold: FoldFunction;
  readonly folds: FoldsFunction;
}

type InterleaveFunction = (
  src: number,
  rows: number,
  wpr: number,
  dst: number,
  paddedWords: number,
) => number;

interface Kernel {
  readonly pair: FoldPair;
  readonly quad: FoldPair;
  readonly interleave: InterleaveFunction;
  readonly memory: { buffer: ArrayBuffer; grow(pages: number): number };
}

let kernel: Kernel | null | undefined;

function getKernel(): Kernel | undefined {
  if (kernel === undefined) {
    const fn: WasmFunction = {
      name: 'fold',
      params: 10,
      locals: [
        [10, I32],
        [1, I64],
        [5, I32],
        [2, I64],
        [1, I32],
      ],
      code: foldCode(),
    };
    const foldsOf = (name: string, callee: number): WasmFunction => ({
      name,
      params: 14,
      locals: [
        [15, I32],
        [1, F64],
        [6, I32],
        [1, F64],
        [2, V128],
      ],
      code: foldsCode(callee),
    });
    const quad: WasmFunction = {
      name: 'foldQuad',
      params: 10,
      locals: [
        [13, I32],
        [9, I64],
        [4, I32],
      ],
      code: foldQuadCode(),
    };
    const interleave: WasmFunction = {
      name: 'interleave',
      params: 5,
      locals: [[5, I32]],
      code: interleaveCode(),
    };
    const exports = instantiate(
      encodeModule([fn, foldsOf('folds', 0), quad, foldsOf('foldsQuad', 2), interleave], 1),
    );
    const pairOf = (f: string, fs: string, e: Record<string, unknown>): FoldPair => ({
      fold: e[f] as FoldFunction,
      folds: e[fs] as FoldsFunction,
    });
    kernel = exports
      ? {
          pair: pairOf('fold', 'folds', exports),
          quad: pairOf('foldQuad', 'foldsQuad', exports),
          interleave: exports.interleave as InterleaveFunction,
          memory: exports.memory as WasmMemory,
        }
      : null;
  }
  return kernel ?? undefined;
}

/** Whether the fold kernel can run here (WebAssembly available); tests compare both paths. */
export function laneFoldKernelAvailable(): boolean {
  return getKernel() !== undefined;
}

/**
 * Lane operands loaded into the kernel's memory, ready for any number of folds. A null `rowBits`
 * stands for all-ones rows (each lane's count is then its column's own).
 */
export interface LoadedLanes {
  /**
   * Lanes r in [r0, r1), c in [c0, c1): `winMax[w]` = the most set bits any lane has in window w,
   * and each lane's total in `totals` (row-major). Both are views valid until the next call.
   */
  fold(r0: number, r1: number, c0: number, c1: number): { winMax: Int32Array; totals: Int32Array };
  /**
   * Every fold of an `arrayRows` × `arrayCols` array over lane rows [0, rows) and every column in
   * one call, row folds outer: fold f's stream (Σ over windows of the busiest lane's count) at
   * `perFold[2f]`, its work (Σ of its lane totals) at `perFold[2f + 1]`; with `bins` > 0,
   * `histogram` counts the lanes per bin of total / the fold's busiest total (addToHistogram's
   * binning, in f64). Views valid until the next call; undefined when a fold's work could pass
   * 2^31 − 1 (the caller then runs fold by fold).
   */
  folds(
    rows: number,
    arrayRows: number,
    arrayCols: number,
    bins: number,
  ): { perFold: Int32Array; histogram: Int32Array } | undefined;
}

/**
 * Which counting loop `loadLanes` uses: `fold`, two lanes a pass over B rows as stored, or
 * `foldQuad`, four lanes a pass over B rows interleaved by four (fewer operations per lane; its folds
 * must start on a group of four columns).
 */
export type LaneKernel = 'pair' | 'quad';

/** Spare bytes after a fold's totals: foldQuad stores a last group of fewer than four lanes whole. */
const SPARE_BYTES = 16;

/**
 * Copies `rowBits` and `colBits` (same columns) into the kernel for folds of `windows` windows of
 * `windowWords` 32-bit words each (one window: the whole row); undefined when the kernel is not
 * available or the windows do not fall on its 64-bit units.
 */
export function loadLanes(
  rowBits: BitMatrix | null,
  colBits: BitMatrix,
  windowWords: number,
  windows: number,
  kind: LaneKernel = 'pair',
): LoadedLanes | undefined {
  const k = getKernel();
  const single = windows === 1;
  if (!k || (!single && windowWords % 2 !== 0)) return undefined;
  const { fold, folds } = k[kind];
  const quad = kind === 'quad';
  // B rows padded with zero words to whole windows (whole units for one window): what a lane reads
  // past the end of its A row (the next row's words) meets those zeros, so A rows stay as stored
  // (one copy) and only B, static across steps, is padded.
  const paddedWords = single ? colBits.wordsPerRow + (colBits.wordsPerRow % 2) : windows * windowWords;
  const stride = paddedWords * 4;
  const aStride = rowBits ? rowBits.wordsPerRow * 4 : 0;
  // A's rows, then room for the last one's reads past its end (the B rows), 16-byte aligned.
  const aBytes = ceilDiv(rowBits ? rowBits.rows * aStride : stride, 16) * 16;
  // foldQuad's B columns come in whole groups of four.
  const winMaxAt = aBytes + (quad ? ceilDiv(colBits.rows, 4) * 4 : colBits.rows) * stride;
  const totalsAt = winMaxAt + windows * 4;
  const memory = k.memory;
  // Past the totals, room for B as stored while it is interleaved (the folds use it later).
  reserveMemory(memory, totalsAt + (quad ? colBits.rows * colBits.wordsPerRow * 4 : 0));
  const words = new Uint32Array(memory.buffer);
  if (rowBits) words.set(rowBits.words.subarray(0, rowBits.rows * rowBits.wordsPerRow));
  else words.fill(0xffffffff, 0, paddedWords);
  if (quad) loadInterleaved(k, words, aBytes / 4, colBits, paddedWords, totalsAt);
  else copyRows(words, aBytes / 4, colBits, paddedWords);
  const units = (single ? paddedWords : windowWords) / 2;
  return {
    fold(r0, r1, c0, c1) {
      // foldQuad counts whole groups of four columns: a fold's columns must be whole groups (or end at
      // the last column, past which the group holds zeros).
      if (quad && (c0 % 4 !== 0 || (c1 % 4 !== 0 && c1 !== colBits.rows)))
        throw new RangeError(`foldQuad: columns [${c0}, ${c1}) are not whole groups of four`);
      const lanes = (r1 - r0) * (c1 - c0);
      reserveMemory(memory, totalsAt + lanes * 4 + SPARE_BYTES);
      const winMax = new Int32Array(memory.buffer, winMaxAt, windows);
      winMax.fill(0);
      fold(
        r0 * aStride,
        aStride,
        aBytes + c0 * stride,
        stride,
        r1 - r0,
        c1 - c0,
        units,
        windows,
        winMaxAt,
        totalsAt,
      );
      return { winMax, totals: new Int32Array(memory.buffer, totalsAt, lanes) };
    },
    folds(rows, arrayRows, arrayCols, bins) {
      if (quad && arrayCols % 4 !== 0) return undefined;
      const lanesPerFold = arrayRows * arrayCols;
      if (lanesPerFold * colBits.cols > 0x7fffffff) return undefined;
      const foldCount = ceilDiv(rows, arrayRows) * ceilDiv(colBits.rows, arrayCols);
      const outAt = totalsAt + lanesPerFold * 4 + SPARE_BYTES;
      const histAt = outAt + foldCount * 8;
      reserveMemory(memory, histAt + bins * 4);
      new Int32Array(memory.buffer, histAt, bins).fill(0);
      folds(
        0,
        aStride,
        aBytes,
        stride,
        rows,
        colBits.rows,
        arrayRows,
        arrayCols,
        units,
        windows,
        bins,
        winMaxAt,
        outAt,
        histAt,
      );
      return {
        perFold: new Int32Array(memory.buffer, outAt, foldCount * 2),
        histogram: new Int32Array(memory.buffer, histAt, bins),
      };
    },
  };
}

/** Rows of `bm` at word `at`, each widened to `paddedWords` (zeros after). */
function copyRows(words: Uint32Array, at: number, bm: BitMatrix, paddedWords: number): void {
  const wpr = bm.wordsPerRow;
  if (wpr === paddedWords) {
    words.set(bm.words.subarray(0, bm.rows * wpr), at);
    return;
  }
  // Word by word, not `set` of a per-row subarray: that view per row was a small JS object per row of
  // every instance of every step, and the young generation grew with the step count to absorb them.
  const src = bm.words;
  for (let r = 0; r < bm.rows; r++) {
    const d = at + r * paddedWords;
    const s = r * wpr;
    for (let i = 0; i < wpr; i++) words[d + i] = src[s + i]!;
    for (let i = wpr; i < paddedWords; i++) words[d + i] = 0;
  }
}

/**
 * B operands met more than once (a static weight, at every step of its layer), interleaved once:
 * later loads are one copy. Keyed by the matrix itself, which the lane operands never change once
 * built; a matrix met once (a dynamic operand) is only remembered as seen.
 */
const interleavedOnce = new WeakSet<BitMatrix>();
const interleaved = new WeakMap<BitMatrix, Uint32Array>();

/**
 * B's rows interleaved for `foldQuad` at word `at` (per group of four columns, unit g (two words) of
 * lane j at word 8g + 2j of the group's 4 · paddedWords, zeros past a row's words and for the
 * missing columns of a last group): by the kernel's `interleave` from a copy at byte `scratchAt`,
 * or from the matrix's interleaved copy kept from its second load on.
 */
function loadInterleaved(
  k: Kernel,
  words: Uint32Array,
  at: number,
  bm: BitMatrix,
  paddedWords: number,
  scratchAt: number,
): void {
  const groups = ceilDiv(bm.rows, 4);
  const length = groups * 4 * paddedWords;
  const copy = interleaved.get(bm);
  // The layout depends on the padded row length (the look-ahead windows): a copy for another is not used.
  if (copy !== undefined && copy.length === length) {
    words.set(copy, at);
    return;
  }
  if (bm.rows % 4 !== 0) words.fill(0, at + length - 4 * paddedWords, at + length);
  words.set(bm.words.subarray(0, bm.rows * bm.wordsPerRow), scratchAt / 4);
  k.interleave(scratchAt, bm.rows, bm.wordsPerRow, at * 4, paddedWords);
  if (copy === undefined && interleavedOnce.has(bm)) interleaved.set(bm, words.slice(at, at + length));
  interleavedOnce.add(bm);
}
