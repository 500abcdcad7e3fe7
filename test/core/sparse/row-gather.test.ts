import { fc, test } from '@fast-check/vitest';
import { expect } from 'vitest';
import { bitMatrixKernelAvailable, gatherInKernel } from '../../../src/core/sparse/bit-matrix-kernel.js';
import { createBitMatrix, popcount32 } from '../../../src/core/sparse/bits.js';
import { lowerSparseLayer, type SparseLayerSpec } from '../../../src/core/sparse/layer-lowering.js';
import { gatherByIndex, gatherWindows, rowGather } from '../../../src/core/sparse/row-gather.js';

/**
 * Conv layers of any channel count (whole words for multiples of 32, runs of bits otherwise),
 * padding on each side, strides and dilations; a matmul's rows are the same with a 1 × 1 kernel.
 */
const convArb = fc
  .record({
    h: fc.integer({ min: 1, max: 9 }),
    w: fc.integer({ min: 1, max: 9 }),
    c: fc.constantFrom(32, 64, 96, 1, 3, 5, 31, 33, 70),
    fh: fc.integer({ min: 1, max: 4 }),
    fw: fc.integer({ min: 1, max: 4 }),
    sh: fc.integer({ min: 1, max: 3 }),
    sw: fc.integer({ min: 1, max: 3 }),
    dh: fc.integer({ min: 1, max: 2 }),
    dw: fc.integer({ min: 1, max: 3 }),
    pad: fc.tuple(fc.nat(3), fc.nat(3), fc.nat(3), fc.nat(3)),
  })
  .filter(
    ({ h, w, fh, fw, dh, dw, pad }) =>
      h + pad[0] + pad[1] >= dh * (fh - 1) + 1 && w + pad[2] + pad[3] >= dw * (fw - 1) + 1,
  )
  .map(({ h, w, c, fh, fw, sh, sw, dh, dw, pad }): SparseLayerSpec => {
    const ho = Math.floor((h + pad[0] + pad[1] - dh * (fh - 1) - 1) / sh) + 1;
    const wo = Math.floor((w + pad[2] + pad[3] - dw * (fw - 1) - 1) / sw) + 1;
    return {
      name: 'conv',
      op: 'conv2d',
      inputShape: [h, w, c],
      operandShape: [fh, fw, c, 2],
      kernel: [fh, fw],
      stride: [sh, sw],
      padding: pad,
      dilation: [dh, dw],
      gemm: { m: ho * wo, n: 2, k: fh * fw * c },
      gemmCount: 1,
    };
  });

const matmulArb = fc
  .record({ m: fc.integer({ min: 1, max: 30 }), k: fc.constantFrom(1, 7, 32, 45, 64, 100, 128) })
  .map(
    ({ m, k }): SparseLayerSpec => ({
      name: 'mm',
      op: 'matmul',
      inputShape: [1, m, k],
      operandShape: [1, k, 3],
      gemm: { m, n: 3, k },
      gemmCount: 1,
    }),
  );

/** Random mask bytes from a seed (xorshift): dense, sparse or all ones. */
function maskBytes(length: number, seed: number, density: number): Uint8Array {
  let x = seed | 1;
  const out = new Uint8Array(length);
  for (let i = 0; i < length * 8; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    if ((x >>> 0) / 2 ** 32 < density) out[i >>> 3]! |= 1 << (i & 7);
  }
  return out;
}

test('the count kernel runs here (the replay gathers with it)', () => {
  expect(bitMatrixKernelAvailable()).toBe(true);
});

test.prop(
  [
    fc.oneof(convArb, matmulArb),
    // The instance's first bit: anywhere in a mask that holds other bits before it.
    fc.integer({ min: 0, max: 100 }),
    fc.integer(),
    fc.constantFrom(0.05, 0.5, 1),
    fc.boolean(),
  ],
  { numRuns: 400 },
)(
  'the kernel gathers the same rows as gatherWindows and the per-element index walk, from any first bit, and counts their bits',
  (spec, from, seed, density, allOnes) => {
    const low = lowerSparseLayer(spec, spec.op === 'conv2d' ? 'weight' : 'rhs');
    const g = rowGather(low);
    const bits = g.h * g.w * g.c;
    const mask = allOnes ? null : maskBytes(Math.ceil((from + bits) / 8), seed, density);
    const start = allOnes ? 0 : from;
    const { m: M, k: K } = low.gemm;

    // A dirty destination: every word must be written.
    const got = createBitMatrix(M, K);
    got.words.fill(0xa5a5a5a5);
    // A longer gather first leaves other bytes in the kernel's memory around this one's.
    gatherInKernel(g, new Uint8Array(4096).fill(0xff), 0, createBitMatrix(200, 200), true);
    const count = gatherInKernel(g, mask, start, got, true);

    // gatherWindows: the input as words from the word holding bit `start`, one more word after.
    const words = new Uint32Array(Math.ceil(bits / 32) + 2);
    const first = (start >>> 5) * 4;
    if (mask) new Uint8Array(words.buffer).set(mask.subarray(first, first + words.length * 4));
    else words.fill(0xffffffff);
    const expected = createBitMatrix(M, K);
    gatherWindows(g, start & 31, words, expected);
    expect([...got.words]).toEqual([...expected.words]);
    expect(count).toBe(expected.words.reduce((s, w) => s + popcount32(w), 0));
    expect(gatherInKernel(g, mask, start, got, false)).toBe(0);

    if (start === 0) {
      // The per-element walk through the lowering's index: the definition.
      const byIndex = createBitMatrix(M, K);
      gatherByIndex(low, 0, mask, byIndex);
      expect([...got.words]).toEqual([...byIndex.words]);
    }
  },
);
