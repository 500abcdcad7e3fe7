import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { layerTraffic, maskStats, storedBits, type TrafficInput } from '../../../src/core/sparse/memory.js';
import { packBits } from '../../../src/testing/index.js';

describe('rle packed into DRAM words (rlePackBits)', () => {
  const stats = { elements: 40, nonzeros: 10, rleEntries: 10 };
  it('unpacked: 10 entries of 16 + 5 bits', () => {
    expect(storedBits('rle', stats, 16, 5)).toEqual({ payloadBits: 160, metadataBits: 50 });
  });
  it('3 pairs of 21 bits per 64-bit word: 10 entries take 4 words = 256 bits, 96 of them metadata', () => {
    expect(storedBits('rle', stats, 16, 5, 64)).toEqual({ payloadBits: 160, metadataBits: 96 });
    expect(storedBits('rle', { ...stats, rleEntries: 9 }, 16, 5, 64)).toEqual({
      payloadBits: 144,
      metadataBits: 48,
    });
  });
  it('a run of 38 zeros needs one extra pair (a 5-bit run holds 31); 3 pairs fill one word', () => {
    const bits = new Array<number>(40).fill(0);
    bits[0] = 1;
    bits[39] = 1;
    const s = maskStats(packBits(bits), 40, 5);
    expect(s).toEqual({ elements: 40, nonzeros: 2, rleEntries: 3 });
    expect(storedBits('rle', s, 16, 5, 64)).toEqual({ payloadBits: 48, metadataBits: 16 });
  });
});

/** The rule itself, bit by bit: one padding entry per 2^runBits zeros of a run ended by a one. */
function rleEntriesByBits(bits: readonly number[], runBits: number): number {
  let run = 0;
  let entries = 0;
  for (const bit of bits) {
    if (bit) {
      entries += 1 + Math.floor(run / 2 ** runBits);
      run = 0;
    } else run++;
  }
  return entries;
}

test.prop(
  [
    fc.integer({ min: 0, max: 600 }),
    fc.constantFrom(0, 0.02, 0.3, 0.9, 1),
    fc.integer({ min: 1, max: 12 }),
    fc.integer({ min: 0, max: 16 }),
    fc.integer(),
  ],
  { numRuns: 500 },
)(
  'rleEntries counts a padding entry per 2^runBits zeros of every run a one ends, whatever the bytes past `elements`',
  (elements, density, runBits, spareBytes, seed) => {
    let x = seed | 1;
    const bits = Array.from({ length: elements }, () => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) / 2 ** 32 < density ? 1 : 0;
    });
    const mask = new Uint8Array(Math.ceil(elements / 8) + spareBytes).fill(0xff);
    mask.set(packBits(bits));
    // Bits past `elements` in the last byte are ones too: they must not count.
    if (elements % 8) mask[elements >>> 3]! |= 0xff << (elements % 8);
    const stats = maskStats(mask, elements, runBits);
    expect(stats.nonzeros).toBe(bits.reduce<number>((a, b) => a + b, 0));
    expect(stats.rleEntries).toBe(rleEntriesByBits(bits, runBits));
  },
);

// WS: K = 10 rows in one row fold, N = 6 in 3 column folds (2 columns), M = 10 streamed.
const WS: TrafficInput = {
  dataflow: 'ws',
  gemm: { m: 10, n: 6, k: 10 },
  instances: 1,
  rowFolds: 1,
  colFolds: 3,
  a: { payloadBits: 1600, metadataBits: 0 },
  aElements: 100,
  b: { payloadBits: 960, metadataBits: 0 },
  bElements: 60,
  outputElements: 60,
  wordBits: 16,
  sram: { ifmapBytes: 100, filterBytes: 1024, ofmapBytes: 1 << 20 },
};
// 25 non-zeros of the 100 inputs as a bitmask: 25 · 16 + 100 = 500 bits (62.5 B, fits 100 B).
const A_BITMASK = { payloadBits: 400, metadataBits: 100 };

describe('the mapping is decided on dense sizes (same for the dense and the compressed run)', () => {
  it('WS: the dense input (200 B) overflows the 100 B ifmap buffer, so A is read per column fold, 3×', () => {
    expect(layerTraffic(WS).dram.readBits).toBe(3 * 1600 + 960);
    // Compressed to 62.5 B it would fit, but the loop nest is the dense one: still 3 reads.
    expect(layerTraffic({ ...WS, a: A_BITMASK }).dram).toEqual({
      readBits: 3 * 500 + 960,
      writeBits: 60 * 16,
      metadataBits: 3 * 100,
    });
  });
  it('WS: a dense input that fits (200 B buffer) is read once, compressed or not', () => {
    const sram = { ...WS.sram, ifmapBytes: 200 };
    expect(layerTraffic({ ...WS, sram, a: A_BITMASK }).dram.readBits).toBe(500 + 960);
  });
  it('IS: B (dense 120 B) overflows a 100 B filter buffer: re-read per column fold even when compressed', () => {
    const is: TrafficInput = {
      ...WS,
      dataflow: 'is',
      b: { payloadBits: 240, metadataBits: 60 },
      sram: { ...WS.sram, ifmapBytes: 1024, filterBytes: 100 },
    };
    expect(layerTraffic(is).dram.readBits).toBe(1600 + 3 * 300);
  });
});

describe('bFetch: the share of B a step reads from DRAM', () => {
  it('a quarter fetched, half spared by residency: 240 of 960 bits read, 480 saved, fills = reads', () => {
    const t = layerTraffic({ ...WS, bFetch: { fetchedShare: 0.25, savedShare: 0.5 } });
    expect(t.dram.readBits).toBe(3 * 1600 + 240);
    expect(t.filter.writeBits).toBe(240);
    expect(t.residentSavedBits).toBe(480);
  });
  it('default: all of B, nothing saved', () => {
    const t = layerTraffic(WS);
    expect(t.filter.writeBits).toBe(960);
    expect(t.residentSavedBits).toBe(0);
  });
});
