import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { type BitMatrix, createBitMatrix, popcount32 } from '../../../src/core/sparse/bits.js';
import { laneTiming } from '../../../src/core/sparse/lane-timing.js';
import { loadLanes, popcountKernelAvailable } from '../../../src/core/sparse/popcount-kernel.js';

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

describe('WebAssembly AND + popcount kernel', () => {
  it('is available on this Node (the replay counts with it)', () => {
    expect(popcountKernelAvailable()).toBe(true);
  });

  test.prop([operandsArb, fc.nat(), fc.nat()], { numRuns: 300 })(
    'per-window maxima and lane totals equal JavaScript AND + popcount32 over the same words',
    ({ shape, rowBits, colBits }, pickR, pickC) => {
      const a = shape.allOnesRows ? null : rowBits;
      const wpr = colBits.wordsPerRow;
      const single = shape.windowWords >= wpr;
      const windows = single ? 1 : Math.ceil(wpr / shape.windowWords);
      const loaded = loadLanes(a, colBits, single ? wpr : shape.windowWords, windows);
      // Only windows of an odd number of words (several of them) are left to JavaScript.
      expect(loaded === undefined).toBe(!single && shape.windowWords % 2 === 1);
      if (!loaded) return;
      const r0 = pickR % shape.rows;
      const r1 = r0 + 1 + (pickR % (shape.rows - r0));
      const c0 = pickC % shape.cols;
      const c1 = c0 + 1 + (pickC % (shape.cols - c0));
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
