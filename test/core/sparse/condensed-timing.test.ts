import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { type BitMatrix, createBitMatrix, getBit, setBit } from '../../../src/core/sparse/bits.js';
import {
  type CondensedDatapath,
  condensedTiming,
  condensedUnits,
} from '../../../src/core/sparse/condensed-timing.js';
import type { LaneOperands } from '../../../src/core/sparse/operand-bits.js';

/** A rows × K bit matrix with the listed (row, k) bits set. */
function bits(rows: number, k: number, set: readonly (readonly [number, number])[]): BitMatrix {
  const bm = createBitMatrix(rows, k);
  for (const [r, c] of set) setBit(bm, r, c);
  return bm;
}

function lanes(rowBits: BitMatrix | null, colBits: BitMatrix | null, M: number, N: number, K: number) {
  return { spatialRows: M, spatialCols: N, temporal: K, rowBits, colBits, stat: null } as LaneOperands;
}

// A (M = 4 rows over K = 3): step 0 has rows 0, 1, 2; step 1 none; step 2 row 3.
const A = bits(4, 3, [
  [0, 0],
  [1, 0],
  [2, 0],
  [3, 2],
]);
// B (N = 4 columns over K = 3): step 0 column 0; step 1 all four; step 2 columns 1, 2, 3.
const B = bits(4, 3, [
  [0, 0],
  [0, 1],
  [1, 1],
  [2, 1],
  [3, 1],
  [1, 2],
  [2, 2],
  [3, 2],
]);
const unit2x2 = { rows: 2, cols: 2 };

describe('condensed outer-product timing (hand-computed)', () => {
  it('one unit, one 4×4 tile: Σ_k ⌈a_k/2⌉·⌈b_k/2⌉ passes plus the unit fill 2 + 2 − 2', () => {
    // k0: ⌈3/2⌉·⌈1/2⌉ = 2; k1: a = 0 → 0; k2: ⌈1/2⌉·⌈3/2⌉ = 2.
    const cd: CondensedDatapath = { unit: unit2x2, tileRows: 4, tileCols: 4 };
    const t = condensedTiming(lanes(A, B, 4, 4, 3), cd, 1);
    expect(t).toMatchObject({ folds: 1, passCycles: 4, tilePasses: 4, cycles: 6 });
  });

  it('two units share M evenly (rows unbounded) and wait for the busier at the barrier', () => {
    // Rows {0, 1}: k0 ⌈2/2⌉·1 = 1. Rows {2, 3}: k0 1·1 + k2 1·⌈3/2⌉ = 3. One round: max 3 + fill 2.
    const cd: CondensedDatapath = { unit: unit2x2, tileRows: Number.POSITIVE_INFINITY, tileCols: 4 };
    const t = condensedTiming(lanes(A, B, 4, 4, 3), cd, 2, 4);
    expect(t).toMatchObject({ folds: 2, passCycles: 3, tilePasses: 4, cycles: 5 });
    // The busier unit is in the top bin, the other at a third of it.
    expect(t.histogram).toEqual([0, 1, 0, 1]);
  });

  it('dense operands (null bits): whole passes over each tile, edge tiles included', () => {
    // M = 5 in tiles of 4 and 1: ⌈4/2⌉ = 2 and ⌈1/2⌉ = 1 passes; N = 3: ⌈3/2⌉ = 2; K = 7.
    const cd: CondensedDatapath = { unit: unit2x2, tileRows: 4, tileCols: 4 };
    const t = condensedTiming(lanes(null, null, 5, 3, 7), cd, 1);
    expect(t.cycles).toBe(7 * 2 * 2 + 2 + (7 * 1 * 2 + 2));
    expect(t.folds).toBe(2);
  });

  it('a tile with no allowed output (stat) costs nothing', () => {
    const stat = bits(4, 4, [[0, 0]]);
    const cd: CondensedDatapath = { unit: unit2x2, tileRows: 2, tileCols: 4 };
    const t = condensedTiming({ ...lanes(A, B, 4, 4, 3), stat }, cd, 1);
    // Only the tile of rows {0, 1} has an allowed output: k0 ⌈2/2⌉·⌈1/2⌉ = 1 pass.
    expect(t).toMatchObject({ folds: 1, cycles: 1 + 2 });
  });

  it('accumulation buffer: a tile lasts max(passes, ⌈pairs / rate⌉)', () => {
    // The 4×4 tile: a_k = 3, 0, 1 and b_k = 1, 4, 3 → pairs 3·1 + 0·4 + 1·3 = 6, passes 4 (above).
    const at = (accumulatePerCycle: number) =>
      condensedTiming(
        lanes(A, B, 4, 4, 3),
        { unit: unit2x2, tileRows: 4, tileCols: 4, accumulatePerCycle },
        1,
      );
    // One product a cycle: the scatter (6) outlasts the passes (4); + the fill 2.
    expect(at(1)).toMatchObject({ passCycles: 6, tilePasses: 6, cycles: 8, accumulateBoundTiles: 1 });
    // ⌈6/2⌉ = 3 < 4 and ⌈6/4⌉ = 2: the passes set the time again, as with no limit.
    expect(at(2)).toMatchObject({ passCycles: 4, cycles: 6, accumulateBoundTiles: 0 });
    expect(at(4)).toEqual(at(Number.POSITIVE_INFINITY));
  });

  it('accumulation buffer with two units: each tile is limited, the busier unit sets the round', () => {
    // Rows {0, 1}: a = 2, 0, 0 → pairs 2·1 = 2, passes 1. Rows {2, 3}: a = 1, 0, 1 → pairs
    // 1·1 + 1·3 = 4, passes 3. At one product a cycle the streams are 2 and 4: round 4 + fill 2.
    const cd: CondensedDatapath = {
      unit: unit2x2,
      tileRows: Number.POSITIVE_INFINITY,
      tileCols: 4,
      accumulatePerCycle: 1,
    };
    const t = condensedTiming(lanes(A, B, 4, 4, 3), cd, 2, 4);
    expect(t).toMatchObject({ folds: 2, passCycles: 4, tilePasses: 6, cycles: 6, accumulateBoundTiles: 2 });
    expect(t.histogram).toEqual([0, 0, 1, 1]);
  });

  it('units: the array must hold a whole number of them', () => {
    expect(
      condensedUnits({ rows: 32, cols: 32 }, { unit: { rows: 4, cols: 4 }, tileRows: 1, tileCols: 1 }),
    ).toBe(64);
    expect(
      condensedUnits({ rows: 8, cols: 16 }, { unit: { rows: 8, cols: 16 }, tileRows: 1, tileCols: 1 }),
    ).toBe(1);
    expect(
      condensedUnits({ rows: 5, cols: 5 }, { unit: { rows: 2, cols: 2 }, tileRows: 1, tileCols: 1 }),
    ).toBe(0);
  });
});

const caseArb = fc
  .record({
    M: fc.integer({ min: 1, max: 12 }),
    N: fc.integer({ min: 1, max: 12 }),
    K: fc.integer({ min: 1, max: 70 }),
    unitRows: fc.integer({ min: 1, max: 4 }),
    unitCols: fc.integer({ min: 1, max: 4 }),
    tileRows: fc.oneof(fc.integer({ min: 1, max: 12 }), fc.constant(Number.POSITIVE_INFINITY)),
    tileCols: fc.oneof(fc.integer({ min: 1, max: 12 }), fc.constant(Number.POSITIVE_INFINITY)),
    units: fc.integer({ min: 1, max: 4 }),
    accumulate: fc.oneof(fc.constant(undefined), fc.integer({ min: 1, max: 20 })),
    seed: fc.integer(),
    density: fc.double({ min: 0, max: 1, noNaN: true }),
  })
  .map((c) => {
    let s = c.seed >>> 0;
    const rnd = (): number => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 2 ** 32;
    };
    const a = createBitMatrix(c.M, c.K);
    const b = createBitMatrix(c.N, c.K);
    for (let r = 0; r < c.M; r++) for (let k = 0; k < c.K; k++) if (rnd() < c.density) setBit(a, r, k);
    for (let n = 0; n < c.N; n++) for (let k = 0; k < c.K; k++) if (rnd() < c.density) setBit(b, n, k);
    const cd: CondensedDatapath = {
      unit: { rows: c.unitRows, cols: c.unitCols },
      tileRows: c.tileRows,
      tileCols: c.tileCols,
      ...(c.accumulate === undefined ? {} : { accumulatePerCycle: c.accumulate }),
    };
    return { ...c, a, b, cd };
  });

/** Pairs (m, n, k) with both operands non-zero: the products the datapath must form. */
function pairs(a: BitMatrix, b: BitMatrix, M: number, N: number, K: number): number {
  let n = 0;
  for (let m = 0; m < M; m++)
    for (let c = 0; c < N; c++) for (let k = 0; k < K; k++) if (getBit(a, m, k) && getBit(b, c, k)) n++;
  return n;
}

describe('condensed outer-product timing (properties)', () => {
  test.prop([caseArb])('1×1 units on 1×1 tiles take exactly one cycle per non-zero pair', (c) => {
    const cd: CondensedDatapath = { unit: { rows: 1, cols: 1 }, tileRows: 1, tileCols: 1 };
    const t = condensedTiming(lanes(c.a, c.b, c.M, c.N, c.K), cd, 1);
    expect(t.cycles).toBe(pairs(c.a, c.b, c.M, c.N, c.K));
  });

  test.prop([caseArb])(
    'passes never fall below the products over the unit, nor barriers below the tiles',
    (c) => {
      const t = condensedTiming(lanes(c.a, c.b, c.M, c.N, c.K), c.cd, c.units);
      const unitMacs = c.cd.unit.rows * c.cd.unit.cols;
      expect(t.tilePasses * unitMacs).toBeGreaterThanOrEqual(pairs(c.a, c.b, c.M, c.N, c.K));
      expect(t.passCycles * c.units).toBeGreaterThanOrEqual(t.tilePasses);
      expect(t.cycles).toBeGreaterThanOrEqual(t.passCycles);
    },
  );

  test.prop([caseArb])(
    'an accumulation rate: streams cover ⌈pairs / rate⌉; at ≥ the products of a pass it never binds',
    (c) => {
      const ops = lanes(c.a, c.b, c.M, c.N, c.K);
      const { accumulatePerCycle: _, ...unlimited } = c.cd;
      const free = condensedTiming(ops, unlimited, c.units);
      const rate = c.accumulate ?? 1;
      const limited = condensedTiming(ops, { ...unlimited, accumulatePerCycle: rate }, c.units);
      expect(limited.tilePasses).toBeGreaterThanOrEqual(Math.ceil(pairs(c.a, c.b, c.M, c.N, c.K) / rate));
      expect(limited.tilePasses).toBeGreaterThanOrEqual(free.tilePasses);
      expect(limited.cycles).toBeGreaterThanOrEqual(free.cycles);
      // A pass forms at most unit.rows · unit.cols products, so that rate is always enough.
      const enough = c.cd.unit.rows * c.cd.unit.cols;
      expect(condensedTiming(ops, { ...unlimited, accumulatePerCycle: enough }, c.units)).toEqual(free);
    },
  );

  test.prop([caseArb, fc.nat(), fc.boolean()])('clearing a non-zero never adds cycles', (c, pick, onA) => {
    const before = condensedTiming(lanes(c.a, c.b, c.M, c.N, c.K), c.cd, c.units).cycles;
    const target = onA ? c.a : c.b;
    const set: [number, number][] = [];
    for (let r = 0; r < target.rows; r++)
      for (let k = 0; k < c.K; k++) if (getBit(target, r, k)) set.push([r, k]);
    if (set.length === 0) return;
    const [r, k] = set[pick % set.length]!;
    const i = r * target.wordsPerRow + (k >>> 5);
    target.words[i] = (target.words[i]! & ~(1 << (k & 31))) >>> 0;
    const after = condensedTiming(lanes(c.a, c.b, c.M, c.N, c.K), c.cd, c.units).cycles;
    expect(after).toBeLessThanOrEqual(before);
  });

  test.prop([caseArb])('all-ones bits time exactly as the null (dense) matrices', (c) => {
    const ones = (rows: number): BitMatrix => {
      const bm = createBitMatrix(rows, c.K);
      for (let r = 0; r < rows; r++) for (let k = 0; k < c.K; k++) setBit(bm, r, k);
      return bm;
    };
    const full = condensedTiming(lanes(ones(c.M), ones(c.N), c.M, c.N, c.K), c.cd, c.units);
    const dense = condensedTiming(lanes(null, null, c.M, c.N, c.K), c.cd, c.units);
    expect(full).toEqual(dense);
  });
});
