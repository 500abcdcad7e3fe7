import { describe, expect, it } from 'vitest';
import { areaOf, sramAreaMm2 } from '../../src/core/area.js';
import { PRESETS } from '../../src/core/presets.js';

describe('area model', () => {
  it("SCALE-Sim's default: 1024 int8 MACs, their registers and 192 KiB of SRAM", () => {
    const area = areaOf(PRESETS['scalesim-default']!);
    // 1024 × (282 + 137) µm²; 1024 × (8 + 8 + 32) bits × 4.522 µm²; 192 KiB × 8 × 0.346 µm² / 0.7.
    expect(area.macs).toBeCloseTo(0.429056, 6);
    expect(area.registers).toBeCloseTo(0.22227, 5);
    expect(area.sram).toBeCloseTo(0.777444, 5);
    expect(area.sparsityLogic).toBe(0);
    expect(area.stateMemory).toBe(0);
    expect(area.total).toBeCloseTo(area.macs + area.registers + area.sram, 12);
  });

  it('skipping costs logic, a wider precision costs MACs, delta mode costs its state memory', () => {
    const base = PRESETS['scalesim-default']!;
    const skip = { ...base, support: { activations: 'skip', weights: 'skip', deltas: 'skip' } } as const;
    expect(areaOf(skip).sparsityLogic).toBeGreaterThan(0);
    expect(areaOf({ ...base, precision: 'fp16' }).macs).toBeGreaterThan(areaOf(base).macs * 7);
    const delta = {
      ...base,
      deltaMode: true,
      stateMemory: { bytes: 1024 * 1024, bandwidthBytesPerCycle: 64 },
    };
    expect(areaOf(delta).stateMemory).toBeCloseTo(sramAreaMm2(1024 * 1024), 12);
    expect(areaOf({ ...delta, deltaMode: false }).stateMemory).toBe(0);
  });
});
