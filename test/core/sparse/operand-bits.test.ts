import { fc, test } from '@fast-check/vitest';
import { expect } from 'vitest';
import { transposeInKernel } from '../../../src/core/sparse/bit-matrix-kernel.js';
import {
  type BitMatrix,
  createBitMatrix,
  extractBits,
  getBit,
  packedBit,
  setBit,
} from '../../../src/core/sparse/bits.js';
import { lowerSparseLayer, type SparseLayerSpec } from '../../../src/core/sparse/layer-lowering.js';
import {
  columnCounts,
  createOperandCache,
  type LaneOperands,
  prepareB,
  prepareByIndex,
  prepareInstance,
  transpose,
  transposeBlocks,
  transposeInto,
} from '../../../src/core/sparse/operand-bits.js';
import {
  arbitraryPattern as bitsArb,
  arbitraryDataflow as dataflowArb,
  packBits,
  arbitrarySupport as supportArb,
} from '../../../src/testing/index.js';

const bitMatrixArb = fc
  .record({ rows: fc.integer({ min: 1, max: 80 }), cols: fc.integer({ min: 1, max: 80 }) })
  .chain(({ rows, cols }) =>
    bitsArb(rows * cols).map((bits) => {
      const bm = createBitMatrix(rows, cols);
      for (let i = 0; i < bits.length; i++) if (bits[i]) setBit(bm, Math.floor(i / cols), i % cols);
      return bm;
    }),
  );

test.prop([bitMatrixArb])(
  'the 32 × 32 block transposes (WebAssembly shuffles and bitmasks, JavaScript rounds) equal the bit-by-bit one',
  (bm) => {
    for (const run of [transposeInKernel, transposeBlocks]) {
      // A dirty destination: every word must be overwritten.
      const dst = createBitMatrix(bm.cols, bm.rows);
      dst.words.fill(0xffffffff);
      expect(run(bm, dst)).toBeTruthy();
      expect(dst.words).toEqual(transpose(bm).words);
    }
    const dst = createBitMatrix(bm.cols, bm.rows);
    expect(transposeInto(bm, dst).words).toEqual(transpose(bm).words);
  },
);

// Up to 600 rows: the bit-sliced counters are read out every 255 rows.
const tallMatrixArb = fc
  .record({
    rows: fc.integer({ min: 1, max: 600 }),
    cols: fc.integer({ min: 1, max: 70 }),
    density: fc.double({ min: 0, max: 1, noNaN: true }),
    seed: fc.nat(),
  })
  .map(({ rows, cols, density, seed }) => {
    const bm = createBitMatrix(rows, cols);
    let state = seed | 1;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        state = (Math.imul(state, 1103515245) + 12345) >>> 0;
        if (state / 2 ** 32 < density) setBit(bm, r, c);
      }
    }
    return bm;
  });

test.prop([tallMatrixArb])('columnCounts counts the set bits of every column', (bm) => {
  const out = new Float64Array(bm.cols).fill(7);
  columnCounts(bm, out);
  const expected = Array.from({ length: bm.cols }, (_, c) => {
    let n = 0;
    for (let r = 0; r < bm.rows; r++) n += getBit(bm, r, c) ? 1 : 0;
    return n;
  });
  expect([...out]).toEqual(expected);
});

test.prop([fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.nat(), fc.nat()])(
  'extractBits copies a run of mask bits 32 at a time, as the bit-by-bit copy does (zeros after it)',
  (packed, a, b) => {
    const start = a % (packed.length * 8);
    const count = 1 + (b % (packed.length * 8 - start));
    const dst = new Uint32Array(Math.ceil(count / 32) + 2).fill(0xffffffff);
    extractBits(packed, start, count, dst, 1);
    const expected = new Uint32Array(Math.ceil(count / 32));
    for (let j = 0; j < count; j++) if (packedBit(packed, start + j)) expected[j >>> 5]! |= 1 << (j & 31);
    expect([...dst.subarray(1, 1 + expected.length)]).toEqual([...expected]);
    // Words around the run are left alone.
    expect(dst[0]).toBe(0xffffffff);
    expect(dst[dst.length - 1]).toBe(0xffffffff);
  },
);

/**
 * Layers whose A rows are gathered without the index: whole 32-bit words of the input (channels or
 * K a multiple of 32) or runs of bits (any other channel count or K).
 */
const wordLayerArb: fc.Arbitrary<{ spec: SparseLayerSpec; aElements: number; bElements: number }> = fc.oneof(
  fc
    .record({
      h: fc.integer({ min: 1, max: 6 }),
      w: fc.integer({ min: 1, max: 6 }),
      c: fc.constantFrom(32, 64, 1, 3, 5, 33),
      n: fc.integer({ min: 1, max: 5 }),
      fh: fc.integer({ min: 1, max: 3 }),
      fw: fc.integer({ min: 1, max: 3 }),
      sh: fc.integer({ min: 1, max: 2 }),
      sw: fc.integer({ min: 1, max: 3 }),
      dh: fc.integer({ min: 1, max: 2 }),
      dw: fc.integer({ min: 1, max: 2 }),
      // Each side on its own: the gather computes each tap's range from the top and left padding.
      pad: fc.tuple(fc.nat(2), fc.nat(2), fc.nat(2), fc.nat(2)),
    })
    .filter(
      ({ h, w, fh, fw, dh, dw, pad }) =>
        h + pad[0] + pad[1] >= dh * (fh - 1) + 1 && w + pad[2] + pad[3] >= dw * (fw - 1) + 1,
    )
    .map(({ h, w, c, n, fh, fw, sh, sw, dh, dw, pad }) => {
      const ho = Math.floor((h + pad[0] + pad[1] - dh * (fh - 1) - 1) / sh) + 1;
      const wo = Math.floor((w + pad[2] + pad[3] - dw * (fw - 1) - 1) / sw) + 1;
      const spec: SparseLayerSpec = {
        name: 'conv',
        op: 'conv2d',
        inputShape: [h, w, c],
        operandShape: [fh, fw, c, n],
        kernel: [fh, fw],
        stride: [sh, sw],
        padding: pad,
        dilation: [dh, dw],
        gemm: { m: ho * wo, n, k: fh * fw * c },
        gemmCount: 1,
      };
      return { spec, aElements: h * w * c, bElements: fh * fw * c * n };
    }),
  fc
    .record({
      m: fc.integer({ min: 1, max: 40 }),
      n: fc.integer({ min: 1, max: 6 }),
      k: fc.constantFrom(32, 64, 96, 1, 7, 45),
      count: fc.integer({ min: 1, max: 3 }),
    })
    .map(({ m, n, k, count }) => ({
      spec: {
        name: 'mm',
        op: 'matmul',
        inputShape: [count, m, k],
        operandShape: [count, k, n],
        gemm: { m, n, k },
        gemmCount: count,
      },
      aElements: count * m * k,
      bElements: count * k * n,
    })),
);

const words = (bm: BitMatrix | null): number[] | null => (bm ? [...bm.words] : null);
const laneWords = (l: LaneOperands) => ({
  ...l,
  rowBits: words(l.rowBits),
  colBits: words(l.colBits),
  stat: words(l.stat),
});

test.prop(
  [
    wordLayerArb.chain((layer) =>
      fc.record({
        layer: fc.constant(layer),
        steps: fc.array(bitsArb(layer.aElements), { minLength: 1, maxLength: 3 }),
        b: bitsArb(layer.bElements),
        aSupport: supportArb,
        bSupport: supportArb,
        dataflow: dataflowArb,
        // A mask that starts off a 4-byte boundary must be read the same.
        offset: fc.integer({ min: 0, max: 3 }),
        // B off a 4-byte boundary is copied, on one it is read in place: the reference takes it shifted.
        bOffset: fc.integer({ min: 0, max: 3 }),
      }),
    ),
  ],
  { numRuns: 200 },
)(
  'word- and run-level gather with a cache reused across steps: same counts and lane bits as the per-element walk',
  ({ layer, steps, b, aSupport, bSupport, dataflow, offset, bOffset }) => {
    const low = lowerSparseLayer(layer.spec, layer.spec.op === 'conv2d' ? 'weight' : 'rhs');
    const structuralSkip = aSupport === 'skip' || bSupport === 'skip';
    const policy = { aSupport, bSupport, structuralSkip, dataflow };
    const cache = createOperandCache(low);
    const bMask = packBits(b);
    const bShifted = new Uint8Array(bMask.length + bOffset).subarray(bOffset);
    bShifted.set(bMask);
    for (const a of steps) {
      const packed = packBits(a);
      const shifted = new Uint8Array(packed.length + offset).subarray(offset);
      shifted.set(packed);
      for (let i = 0; i < low.instances; i++) {
        const fast = prepareInstance(low, i, shifted, bMask, policy, undefined, cache);
        const reference = prepareByIndex(low, i, packed, bShifted, policy);
        expect(fast.counts).toEqual(reference.counts);
        expect(laneWords(fast.lanes)).toEqual(laneWords(reference.lanes));
      }
    }
  },
);

test.prop([
  fc
    .record({ k: fc.integer({ min: 1, max: 70 }), n: fc.constantFrom(32, 64, 96) })
    .chain(({ k, n }) => fc.record({ k: fc.constant(k), n: fc.constant(n), bits: bitsArb(k * n) })),
  fc.integer({ min: 1, max: 3 }),
])(
  'B read in place from an aligned mask: the same Bᵀ, B and per-row non-zeros as B copied from a shifted one',
  ({ k, n, bits }, shift) => {
    const spec: SparseLayerSpec = {
      name: 'mm',
      op: 'matmul',
      inputShape: [1, 3, k],
      operandShape: [1, k, n],
      gemm: { m: 3, n, k },
      gemmCount: 1,
    };
    const low = lowerSparseLayer(spec, 'rhs');
    const policy = { aSupport: 'skip', bSupport: 'skip', structuralSkip: true, dataflow: 'os' } as const;
    const aligned = packBits(bits);
    const shifted = new Uint8Array(aligned.length + shift).subarray(shift);
    shifted.set(aligned);
    const inPlace = prepareB(low, 0, aligned, policy);
    const copied = prepareB(low, 0, shifted, policy);
    expect(words(inPlace.rowOrColBits)).toEqual(words(copied.rowOrColBits));
    // Non-zeros first: in place they are counted down Bᵀ's columns, before any B is rebuilt.
    const naive = Array.from(
      { length: k },
      (_, kk) => bits.slice(kk * n, (kk + 1) * n).filter(Boolean).length,
    );
    expect([...inPlace.bNz]).toEqual(naive);
    expect([...copied.bNz]).toEqual(naive);
    expect(words(inPlace.bAct)).toEqual(words(copied.bAct));
  },
);
