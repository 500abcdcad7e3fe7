import { QUANTITY_UNIT, type QuantityKind } from './units.js';

/**
 * The physical range every quantity in a config file must fall in: the one table the loaders check
 * against and docs/configuration.md lists. The bounds are far outside any real accelerator yet keep
 * the arithmetic finite and meaningful (a 1e-300 Hz clock made energies `null`; a 1e-300 B/cycle
 * DRAM made 4.6e306 cycles). Zero is allowed only where a field says so (`allowZero`: leakage,
 * metadata energy); otherwise a value must lie in [min, max].
 */
export interface PhysicalRange {
  readonly kind: QuantityKind;
  readonly min: number;
  readonly max: number;
  /** How the bounds are written in errors and docs. */
  readonly text: string;
  /** Which fields it applies to, for the docs table. */
  readonly fields: string;
}

export const PHYSICAL_RANGES = {
  clock: {
    kind: 'frequency',
    min: 1e3,
    max: 1e11,
    text: '1 kHz to 100 GHz',
    fields: 'clock',
  },
  bandwidth: {
    kind: 'bytesPerCycle',
    min: 1e-3,
    max: 2 ** 40,
    text: '0.001 B/cycle to 1 TiB/cycle (or "unlimited" where allowed)',
    fields: 'bandwidth.sram, bandwidth.dram, stateMemory.bandwidth, .cfg Bandwidth',
  },
  size: {
    kind: 'bytes',
    min: 1,
    max: 2 ** 40,
    text: '1 B to 1 TiB (or "unlimited" where allowed)',
    fields: 'sram.ifmap/filter/ofmap, stateMemory.size, energy sram[].size, .cfg *SramSzkB',
  },
  leakage: {
    kind: 'power',
    min: 1e-6,
    max: 1e7,
    text: '0, or 1 nW to 10 kW',
    fields: 'leakage (hardware file and energy table)',
  },
  energy: {
    kind: 'energy',
    min: 1e-6,
    max: 1e6,
    text: '1e-6 pJ to 1e6 pJ (1 µJ)',
    fields: 'energy mac.*, add.*, register, sram[].access64',
  },
  energyPerBit: {
    kind: 'energyPerBit',
    min: 1e-6,
    max: 1e6,
    text: '1e-6 to 1e6 pJ/bit (metadata may be 0)',
    fields: 'energy dram, metadata',
  },
} as const satisfies Record<string, PhysicalRange>;

/** PE rows or columns a config file may give (65,536 × 65,536 = 4.3e9 PEs, far past any real array). */
export const ARRAY_SIDE_MAX = 65_536;

export type PhysicalRangeName = keyof typeof PHYSICAL_RANGES;

/** Why `value` (already in the range's plain unit) is outside `range`, or undefined when it is inside. */
export function rangeProblem(value: number, range: PhysicalRangeName, allowZero = false): string | undefined {
  const r: PhysicalRange = PHYSICAL_RANGES[range];
  if (value === 0 && allowZero) return undefined;
  if (value >= r.min && value <= r.max) return undefined;
  return `${value} ${QUANTITY_UNIT[r.kind]} is outside the physical range ${r.text}`;
}
