import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { bitMatrixKernelAvailable, popcountBytes } from '../../../src/core/sparse/bit-matrix-kernel.js';
import { packedPopcount } from '../../../src/core/sparse/bits.js';

describe('the count kernel', () => {
  it('is available on this Node (mask popcounts, gathers and transposes run in it)', () => {
    expect(bitMatrixKernelAvailable()).toBe(true);
  });
});

describe('mask popcount in the kernel', () => {
  /** Bit by bit: the definition. */
  const slow = (bytes: Uint8Array, count: number): number => {
    let n = 0;
    for (let i = 0; i < count; i++) n += (bytes[i >>> 3]! >>> (i & 7)) & 1;
    return n;
  };

  test.prop([fc.uint8Array({ minLength: 0, maxLength: 700 }), fc.nat()], { numRuns: 300 })(
    'counts the set bits of the first bytes only, whatever lies after them and whatever ran before',
    (bytes, pick) => {
      const n = bytes.length === 0 ? 0 : pick % (bytes.length + 1);
      // A longer mask first leaves non-zero bytes in the kernel's memory past the next one's end.
      popcountBytes(new Uint8Array(1024).fill(0xff), 1024);
      expect(popcountBytes(bytes, n)).toBe(slow(bytes, n * 8));
    },
  );

  test.prop([fc.uint8Array({ minLength: 250, maxLength: 2000 }), fc.nat()], { numRuns: 200 })(
    'packedPopcount of a large mask (through the kernel) equals the bit-by-bit count of its first bits',
    (bytes, pick) => {
      const count = pick % (bytes.length * 8 + 1);
      expect(packedPopcount(bytes, count)).toBe(slow(bytes, count));
    },
  );
});
