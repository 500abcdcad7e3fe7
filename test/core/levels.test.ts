import { describe, expect, it } from 'vitest';
import { levelCycles, type StorageLevel, slowestLevel } from '../../src/core/levels.js';

const level = (name: StorageLevel['name'], bytes: number, bandwidth: number): StorageLevel => ({
  name,
  capacityBytes: Number.POSITIVE_INFINITY,
  bandwidthBytesPerCycle: bandwidth,
  readBits: bytes * 8,
  writeBits: 0,
  metadataBits: 0,
});

describe('levels: the slowest sets the cycles (Timeloop)', () => {
  it('DRAM 1000 B at 16 B/cycle needs 63 cycles; compute 50 → 63, bound dram', () => {
    expect(levelCycles(level('dram', 1000, 16))).toBe(63);
    expect(slowestLevel(50, [level('dram', 1000, 16), level('ifmap', 100, 1)])).toEqual({
      cycles: 100,
      bound: 'ifmap',
    });
    expect(slowestLevel(50, [level('dram', 1000, 16)])).toEqual({ cycles: 63, bound: 'dram' });
  });

  it('compute wins ties; unbounded bandwidth never limits; a unit can bound', () => {
    expect(slowestLevel(63, [level('dram', 1000, 16)])).toEqual({ cycles: 63, bound: 'compute' });
    expect(slowestLevel(1, [level('dram', 1e12, Number.POSITIVE_INFINITY)])).toEqual({
      cycles: 1,
      bound: 'compute',
    });
    expect(slowestLevel(1, [], { 'delta-unit': 7 })).toEqual({ cycles: 7, bound: 'delta-unit' });
  });
});
