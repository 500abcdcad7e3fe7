import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { type BitMatrix, createBitMatrix, popcount32 } from '../../../src/core/sparse/bits.js';
import {
  type LaneKernel,
  laneFoldKernelAvailable,
  loadLanes,
} from '../../../src/core/sparse/lane-fold-kernel.js';
import { laneTiming } from '../../../src/core/sparse/lane-timing.js';

/** A bit matrix of random words (bits past `cols` cleared, as every BitMatrix keeps them). */
const bitMatrixArb = (rows: number, cols: number) =>
  fc
    .array(fc.integer({ min: 0, max: 0xffffffff }), {
      minLength: rows * Math.max(1, Math.ceil(cols / 32)),
      maxLength: rows * Math.max(1, Math.ceil(cols / 32)),
    })
    .map((words): BitMatrix => {
      const bm = createBitMatrix(rows, cols);
      bm.words.set(words);
      const rest = cols & 31;
      if (rest !== 0) {
        for (let r = 0; r < rows; r++) {
          const last = r * bm.wordsPerRow + bm.wordsPerRow - 1;
          bm.words[last] = (bm.words[last]! & ((1 << rest) - 1)) >>> 0;
        }
      }
      return bm;
    });

/** Rows, columns and a stream length T, then both operands and a window of whole words. */
const operandsArb = fc
  .record({
    rows: fc.integer({ min: 1, max: 9 }),
    cols: fc.integer({ min: 1, max: 9 }),
    temporal: fc.integer({ min: 1, max: 700 }),
    windowWords: fc.integer({ min: 1, max: 8 }),
    allOnesRows: fc.boolean(),
  })
  .chain((s) =>
    fc.record({
      shape: fc.constant(s),
      rowBits: bitMatrixArb(s.rows, s.temporal),
      colBits: bitMatrixArb(s.cols, s.temporal),
    }),
  );

/** Both counting loops: two lanes a pass, and four a pass over interleaved B rows. */
const kindArb = fc.constantFrom<LaneKernel>('pair', 'quad');

describe('WebAssembly AND + popcount kernel', () => {
  it('is available on this Node (the replay counts with it)', () => {
    expect(laneFoldKernelAvailable()).toBe(true);
  });

  test.prop([operandsArb, fc.nat(), fc.nat(), kindArb], { numRuns: 300 })(
    'per-window maxima and lane totals equal JavaScript AND + popcount32 over the same words',
    ({ shape, rowBits, colBits }, pickR, pickC, kind) => {
      const a = shape.allOnesRows ? null : rowBits;
      const wpr = colBits.wordsPerRow;
      const single = shape.windowWords >= wpr;
      const windows = single ? 1 : Math.ceil(wpr / shape.windowWords);
      const loaded = loadLanes(a, colBits, single ? wpr : shape.windowWords, windows, kind);
      // Only windows of an odd number of words (several of them) are left to JavaScript.
      expect(loaded === undefined).toBe(!single && shape.windowWords % 2 === 1);
      if (!loaded) return;
      const r0 = pickR % shape.rows;
      const r1 = r0 + 1 + (pickR % (shape.rows - r0));
      // foldQuad's folds are whole groups of four columns (the last one may end at the last column).
      const c0 = kind === 'quad' ? (pickC % shape.cols) & ~3 : pickC % shape.cols;
      const c1 =
        kind === 'quad'
          ? Math.min(shape.cols, c0 + 4 * (1 + (pickC % 3)))
          : c0 + 1 + (pickC % (shape.cols - c0));
      const { winMax, totals } = loaded.fold(r0, r1, c0, c1);
      const perWindow = single ? wpr : shape.windowWords;
      const expectedMax = new Array<number>(windows).fill(0);
      const expectedTotals: number[] = [];
      for (let r = r0; r < r1; r++) {
        for (let c = c0; c < c1; c++) {
          let total = 0;
          for (let w = 0; w < windows; w++) {
            let count = 0;
            for (let i = w * perWindow; i < Math.min((w + 1) * perWindow, wpr); i++) {
              const aWord = a ? a.words[r * wpr + i]! : 0xffffffff;
              count += popcount32(aWord & colBits.words[c * wpr + i]!);
            }
            expectedMax[w] = Math.max(expectedMax[w]!, count);
            total += count;
          }
          expectedTotals.push(total);
        }
      }
      expect([...winMax]).toEqual(expectedMax);
      expect([...totals]).toEqual(expectedTotals);
    },
  );

  test.prop([operandsArb, fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 })], { numRuns: 200 })(
    'element lane timing through the kernel equals the JavaScript loops (an all-ones stationary mask forces them)',
    ({ shape, rowBits, colBits }, arrayRows, arrayCols) => {
      const allOnes = createBitMatrix(shape.rows, shape.cols);
      for (let r = 0; r < shape.rows; r++)
        for (let c = 0; c < shape.cols; c++)
          allOnes.words[r * allOnes.wordsPerRow + (c >>> 5)]! |= 1 << (c & 31);
      const options = {
        array: { rows: arrayRows, cols: arrayCols },
        dataflow: 'os' as const,
        granularity: 'element' as const,
        lookaheadSteps: shape.windowWords * 32 * (shape.allOnesRows ? 1 : 2),
        histogramBins: 7,
      };
      const ops = {
        spatialRows: shape.rows,
        spatialCols: shape.cols,
        temporal: shape.temporal,
        rowBits: shape.allOnesRows ? null : rowBits,
        colBits,
      };
      const viaKernel = laneTiming({ ...ops, stat: null }, options);
      const viaJs = laneTiming({ ...ops, stat: allOnes }, options);
      expect(viaKernel).toEqual(viaJs);
      const unbounded = { ...options, lookaheadSteps: Number.POSITIVE_INFINITY };
      expect(laneTiming({ ...ops, stat: null }, unbounded)).toEqual(
        laneTiming({ ...ops, stat: allOnes }, unbounded),
      );
    },
  );
});

describe('the whole fold schedule in one kernel call', () => {
  /** Per fold (row folds outer) stream and work, and the lane histogram, from JavaScript popcount32. */
  function reference(
    rowBits: BitMatrix | null,
    colBits: BitMatrix,
    rows: number,
    arrayRows: number,
    arrayCols: number,
    windowWords: number,
    bins: number,
  ) {
    const wpr = colBits.wordsPerRow;
    const perFold: number[] = [];
    const histogram = new Array<number>(bins).fill(0);
    for (let r0 = 0; r0 < rows; r0 += arrayRows) {
      for (let c0 = 0; c0 < colBits.rows; c0 += arrayCols) {
        const windows = Math.ceil(wpr / windowWords);
        const winMax = new Array<number>(windows).fill(0);
        const totals: number[] = [];
        for (let r = r0; r < Math.min(r0 + arrayRows, rows); r++) {
          for (let c = c0; c < Math.min(c0 + arrayCols, colBits.rows); c++) {
            let total = 0;
            for (let w = 0; w < windows; w++) {
              let count = 0;
              for (let i = w * windowWords; i < Math.min((w + 1) * windowWords, wpr); i++)
                count += popcount32(
                  (rowBits ? rowBits.words[r * wpr + i]! : 0xffffffff) & colBits.words[c * wpr + i]!,
                );
              winMax[w] = Math.max(winMax[w]!, count);
              total += count;
            }
            totals.push(total);
          }
        }
        const busiest = Math.max(...totals);
        for (const t of totals) {
          const share = busiest > 0 ? t / busiest : 0;
          if (bins > 0) histogram[Math.min(bins - 1, Math.floor(share * bins))]!++;
        }
        perFold.push(
          winMax.reduce((s, v) => s + v, 0),
          totals.reduce((s, v) => s + v, 0),
        );
      }
    }
    return { perFold, histogram };
  }

  /** A copy of `src`'s shape with every bit `word` holds (bits past cols stay clear). */
  const fill = (src: BitMatrix, word: number): BitMatrix => {
    const bm = createBitMatrix(src.rows, src.cols);
    const rest = bm.cols & 31;
    for (let r = 0; r < bm.rows; r++) {
      for (let i = 0; i < bm.wordsPerRow; i++) {
        const last = i === bm.wordsPerRow - 1 && rest !== 0;
        bm.words[r * bm.wordsPerRow + i] = last ? word & ((1 << rest) - 1) : word;
      }
    }
    return bm;
  };

  test.prop(
    [
      operandsArb,
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 0, max: 10 }),
      fc.constantFrom('random', 'zeros', 'ones'),
      kindArb,
    ],
    { numRuns: 300 },
  )(
    'per fold stream and work and the lane histogram equal JavaScript AND + popcount32 (any T, all-zero and all-one operands)',
    ({ shape, rowBits: randomRows, colBits: randomCols }, arrayRows, pickCols, bins, kind, lanes) => {
      // foldQuad needs folds of whole groups of four columns.
      const arrayCols = lanes === 'quad' ? 4 * pickCols : pickCols;
      const word = kind === 'ones' ? 0xffffffff : 0;
      const rowBits = kind === 'random' ? randomRows : fill(randomRows, word);
      const colBits = kind === 'random' ? randomCols : fill(randomCols, word);
      const a = shape.allOnesRows ? null : rowBits;
      const wpr = colBits.wordsPerRow;
      // Even windows (whole 64-bit units) or one window over the whole row.
      const windowWords = shape.windowWords >= wpr ? wpr : shape.windowWords + (shape.windowWords % 2);
      const single = windowWords >= wpr;
      const loaded = loadLanes(
        a,
        colBits,
        single ? wpr : windowWords,
        single ? 1 : Math.ceil(wpr / windowWords),
        lanes,
      );
      const got = loaded!.folds(shape.rows, arrayRows, arrayCols, bins)!;
      const expected = reference(
        a,
        colBits,
        shape.rows,
        arrayRows,
        arrayCols,
        single ? wpr : windowWords,
        bins,
      );
      expect([...got.perFold]).toEqual(expected.perFold);
      expect([...got.histogram]).toEqual(expected.histogram);
      if (kind === 'zeros') expect(expected.perFold.every((v) => v === 0)).toBe(true);
    },
  );
});

describe('the kernel histogram (bins from per-fold thresholds, no division per lane)', () => {
  /** One row of all-ones A (null) against column c holding totals[c] set bits: lane c's total is totals[c]. */
  const lanesWith = (totals: readonly number[], temporal: number): BitMatrix => {
    const bm = createBitMatrix(totals.length, temporal);
    totals.forEach((t, c) => {
      for (let i = 0; i < t; i++) bm.words[c * bm.wordsPerRow + (i >>> 5)]! |= 1 << (i & 31);
    });
    return bm;
  };
  /** addToHistogram's rule: floor(total / busiest · bins) in f64, capped at bins − 1. */
  const binned = (totals: readonly number[], bins: number): number[] => {
    const busiest = Math.max(...totals);
    const out = new Array<number>(bins).fill(0);
    for (const t of totals) out[Math.min(bins - 1, Math.floor((busiest > 0 ? t / busiest : 0) * bins))]!++;
    return out;
  };
  const kernelHistogram = (totals: readonly number[], temporal: number, bins: number, kind: LaneKernel) => {
    const colBits = lanesWith(totals, temporal);
    const loaded = loadLanes(null, colBits, colBits.wordsPerRow, 1, kind)!;
    // One fold over every lane (a quad fold takes whole groups of four).
    const arrayCols = Math.ceil(totals.length / 4) * 4;
    const got = loaded.folds(1, 1, arrayCols, bins)!;
    return { histogram: [...got.histogram], work: got.perFold[1] };
  };

  it('puts every total 0..busiest in the bin the f64 rule gives (busiest 1..90, bins 1..24, both loops)', () => {
    // Exact arithmetic and the f64 rule disagree here (1 / 49 · 49 < 1), which the threshold search must follow.
    expect(Math.floor((1 / 49) * 49)).toBe(0);
    for (let busiest = 1; busiest <= 90; busiest++) {
      const totals = Array.from({ length: busiest + 1 }, (_, t) => t);
      for (let bins = 1; bins <= 24; bins++) {
        for (const kind of ['pair', 'quad'] as const) {
          const got = kernelHistogram(totals, busiest, bins, kind);
          expect(got.histogram, `busiest ${busiest}, bins ${bins}, ${kind}`).toEqual(binned(totals, bins));
          expect(got.work).toBe((busiest * (busiest + 1)) / 2);
        }
      }
    }
  });

  test.prop(
    [
      fc.integer({ min: 1, max: 3000 }),
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 70 }),
      fc.integer({ min: 1, max: 64 }),
      kindArb,
    ],
    { numRuns: 200 },
  )('large and uneven totals land in the same bins as the f64 rule', (temporal, shares, bins, kind) => {
    const totals = shares.map((x) => Math.round(x * temporal));
    const got = kernelHistogram(totals, temporal, bins, kind);
    expect(got.histogram).toEqual(binned(totals, bins));
    expect(got.work).toBe(totals.reduce((s, t) => s + t, 0));
  });
});

describe('four lanes a pass (foldQuad) against two (fold)', () => {
  /** Bigger shapes than above: rows of up to 38 words (tails of 1–3 words past a group of 4). */
  const bigArb = fc
    .record({
      rows: fc.integer({ min: 1, max: 40 }),
      cols: fc.integer({ min: 1, max: 40 }),
      temporal: fc.integer({ min: 1, max: 1200 }),
      windowUnits: fc.integer({ min: 0, max: 4 }),
      arrayRows: fc.integer({ min: 1, max: 33 }),
      arrayGroups: fc.integer({ min: 1, max: 9 }),
      density: fc.constantFrom(0.02, 0.5, 0.98),
      seed: fc.integer(),
    })
    .map((s) => {
      // A cheap seeded generator: the words at the chosen density, bits past T cleared.
      let x = s.seed | 1;
      const next = () => {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        return (x >>> 0) / 2 ** 32;
      };
      const random = (rows: number): BitMatrix => {
        const bm = createBitMatrix(rows, s.temporal);
        for (let r = 0; r < rows; r++)
          for (let t = 0; t < s.temporal; t++)
            if (next() < s.density) bm.words[r * bm.wordsPerRow + (t >>> 5)]! |= 1 << (t & 31);
        return bm;
      };
      return { ...s, rowBits: random(s.rows), colBits: random(s.cols) };
    });

  test.prop([bigArb], { numRuns: 150 })(
    'every fold schedule, window and lane total are the same integers',
    ({ rowBits, colBits, windowUnits, arrayRows, arrayGroups, rows }) => {
      const wpr = colBits.wordsPerRow;
      const windowWords = 2 * windowUnits;
      const single = windowUnits === 0 || windowWords >= wpr;
      const args = [single ? wpr : windowWords, single ? 1 : Math.ceil(wpr / windowWords)] as const;
      const run = (kind: LaneKernel) => {
        const loaded = loadLanes(rowBits, colBits, ...args, kind)!;
        const all = loaded.folds(rows, arrayRows, 4 * arrayGroups, 5)!;
        const perFold = [...all.perFold];
        const histogram = [...all.histogram];
        const one = loaded.fold(0, rows, 0, colBits.rows);
        return { perFold, histogram, winMax: [...one.winMax], totals: [...one.totals] };
      };
      expect(run('quad')).toEqual(run('pair'));
    },
  );

  test.prop([bigArb, bigArb], { numRuns: 60 })(
    'a B met again (a static weight at every step) is interleaved once and read back the same',
    (first, second) => {
      const colBits = first.colBits;
      const wpr = colBits.wordsPerRow;
      const windowWords = 2 * Math.max(1, first.windowUnits);
      const args =
        windowWords >= wpr ? ([wpr, 1] as const) : ([windowWords, Math.ceil(wpr / windowWords)] as const);
      // Other A rows each time, of the same length; the second and later loads take B's kept copy.
      const aRows = [first.rowBits, second.rowBits, first.rowBits].map((bm) => {
        const rows = createBitMatrix(bm.rows, colBits.cols);
        for (let r = 0; r < bm.rows; r++)
          for (let i = 0; i < wpr; i++) rows.words[r * wpr + i] = bm.words[r * bm.wordsPerRow + i] ?? 0;
        rows.words.forEach((w, i) => {
          if (i % wpr === wpr - 1 && (colBits.cols & 31) !== 0)
            rows.words[i] = (w & ((1 << (colBits.cols & 31)) - 1)) >>> 0;
        });
        return rows;
      });
      for (const a of aRows) {
        const run = (kind: LaneKernel) => [
          ...loadLanes(a, colBits, ...args, kind)!.folds(a.rows, 3, 8, 4)!.perFold,
        ];
        expect(run('quad')).toEqual(run('pair'));
      }
    },
  );

  it('takes only folds of whole groups of four columns', () => {
    const bm = createBitMatrix(5, 64);
    bm.words.fill(0xffffffff);
    const loaded = loadLanes(bm, bm, 2, 1, 'quad')!;
    expect(loaded.folds(5, 4, 6, 0)).toBeUndefined();
    expect(() => loaded.fold(0, 5, 2, 5)).toThrow(/groups of four/);
    expect(() => loaded.fold(0, 5, 0, 3)).toThrow(/groups of four/);
    // A last group of one lane (column 4): its total is the row's own count, 64.
    expect([...loaded.fold(0, 2, 4, 5).totals]).toEqual([64, 64]);
  });
});
