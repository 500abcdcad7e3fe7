/**
 * Energy per action, in picojoules: the "energy reference table" of Accelergy/Timeloop, as plain
 * numbers. Users bring their own as YAML/JSON (parsed and unit-checked at the edge, src/config).
 *
 * Default: Horowitz, "Computing's energy problem", ISSCC 2014, 45 nm, 0.9 V (docs/sources.md).
 */
export type Precision = 'int8' | 'fp16' | 'fp32';

export const PRECISIONS: readonly Precision[] = ['int8', 'fp16', 'fp32'];

export const PRECISION_BITS: Readonly<Record<Precision, number>> = { int8: 8, fp16: 16, fp32: 32 };

/** One SRAM size point: reading or writing 64 bits of an SRAM of `bytes` costs `pjPer64Bit`. */
export interface SramEnergyPoint {
  readonly bytes: number;
  readonly pjPer64Bit: number;
}

export interface EnergyTable {
  readonly name: string;
  /** One multiply-accumulate at each datapath precision. */
  readonly macPj: Readonly<Record<Precision, number>>;
  /** A gated MAC (operand zero, clock/data gated) as a fraction of a full MAC. */
  readonly gatedMacFraction: number;
  /** One read or write of a PE-local register word. */
  readonly registerAccessPj: number;
  /** SRAM access energy by capacity; sizes between points are interpolated in log2(bytes). */
  readonly sram: readonly SramEnergyPoint[];
  readonly dramPjPerBit: number;
  /** Reading or writing one bit of sparse-format metadata (bitmask bits, coordinates, run lengths). */
  readonly metadataPjPerBit: number;
  /** Leakage of the whole array and its buffers, in milliwatts (= pJ per ns). */
  readonly leakageMw: number;
  /**
   * One add (or compare) at each precision: element-wise work off the array, e.g. computing and
   * thresholding deltas. Optional; absent, the sparse engine charges a full MAC (an upper bound).
   */
  readonly addPj?: Readonly<Record<Precision, number>>;
}

export const HOROWITZ_45NM: EnergyTable = {
  name: 'horowitz-45nm',
  // int8 multiply 0.2 + int32 accumulate 0.1; fp16 1.1 + 0.4; fp32 3.7 + 0.9.
  macPj: { int8: 0.3, fp16: 1.5, fp32: 4.6 },
  // Gated actions cost ~1–3 % of a normal one in Accelergy's tables.
  gatedMacFraction: 0.02,
  registerAccessPj: 0.14,
  sram: [
    { bytes: 8 * 1024, pjPer64Bit: 10 },
    { bytes: 32 * 1024, pjPer64Bit: 20 },
    { bytes: 1024 * 1024, pjPer64Bit: 100 },
  ],
  // 1.3–2.6 nJ per 64-bit DRAM access: the low end, 1300 / 64.
  dramPjPerBit: 1300 / 64,
  // Metadata lives in small SRAM beside the payload: 8 KB SRAM cost per bit.
  metadataPjPerBit: 10 / 64,
  leakageMw: 0,
  addPj: { int8: 0.03, fp16: 0.4, fp32: 0.9 },
};

/**
 * The table's SRAM points by size, sorted once per table (a table is read-only): every layer-step
 * asks for several buffers' energy, and a sorted copy each time was garbage of every step.
 */
const sortedSram = new WeakMap<EnergyTable, readonly SramEnergyPoint[]>();

function sortedSramPoints(table: EnergyTable): readonly SramEnergyPoint[] {
  let points = sortedSram.get(table);
  if (!points) {
    points = [...table.sram].sort((a, b) => a.bytes - b.bytes);
    sortedSram.set(table, points);
  }
  return points;
}

/** Energy of one 64-bit access to an SRAM of `bytes`, log-linear between the table's points. */
export function sramPjPer64Bit(table: EnergyTable, bytes: number): number {
  const points = sortedSramPoints(table);
  const first = points[0];
  const last = points[points.length - 1];
  if (!first || !last) throw new RangeError('energy table has no SRAM points');
  if (bytes <= first.bytes || points.length === 1) return first.pjPer64Bit;
  if (bytes >= last.bytes) return last.pjPer64Bit;
  for (let i = 1; i < points.length; i++) {
    const lo = points[i - 1]!;
    const hi = points[i]!;
    if (bytes <= hi.bytes) {
      const f = (Math.log2(bytes) - Math.log2(lo.bytes)) / (Math.log2(hi.bytes) - Math.log2(lo.bytes));
      return lo.pjPer64Bit + f * (hi.pjPer64Bit - lo.pjPer64Bit);
    }
  }
  return last.pjPer64Bit;
}
