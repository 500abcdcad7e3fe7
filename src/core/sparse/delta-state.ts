import type { EnergyTable, Precision } from '../energy-table.js';
import { sramPjPer64Bit } from '../energy-table.js';
import { PSUM_BITS, type StateMemoryModel } from '../hardware.js';
import { addPj } from './energy.js';

/** The bookkeeping delta mode pays per layer and step, on top of the MACs of the non-zero Δ. */
export interface DeltaStateCost {
  /** Bits read and written for y_{t−1} (32-bit partial sums) and q_{t−1}. */
  readonly stateBits: number;
  /** True when y and q of the layer fit the state memory; otherwise they live in DRAM. */
  readonly onChip: boolean;
  /** Subtractions and threshold compares (one each per input element; none on a key frame). */
  readonly elementOps: number;
  readonly energyPj: number;
  /** Cycles the state memory needs for stateBits at its bandwidth (0 when the state is in DRAM). */
  readonly stateCycles: number;
  /** Cycles of the element-wise delta unit (`lanes` elements per cycle), overlapped with the array. */
  readonly unitCycles: number;
  /** State traffic that goes to DRAM when it does not fit on chip. */
  readonly dramBits: number;
}

export interface DeltaStateInput {
  readonly inputElements: number;
  readonly outputElements: number;
  readonly wordBits: number;
  readonly keyFrame: boolean;
  readonly stateMemory: StateMemoryModel;
  readonly table: EnergyTable;
  readonly precision: Precision;
  /** Width of the element-wise unit computing deltas (the array's column count). */
  readonly lanes: number;
  readonly dramPjPerBit: number;
}

/**
 * Per step: a key frame writes y_t and q_t once (state initialised, Δ = q, no subtraction);
 * any other step reads and writes both (y_t = y_{t−1} + W·Δ_t, q_{t−1} replaced by q_t) and pays a
 * subtract and a compare per input element (Δ = q_t − q_{t−1}, then the zero test that makes the
 * event). Energy: state bits / 64 × SRAM(state memory size) when the state fits, DRAM per bit
 * otherwise, plus element ops × add energy.
 */
export function deltaStateCost(input: DeltaStateInput): DeltaStateCost {
  const psumBits = input.outputElements * PSUM_BITS;
  const qBits = input.inputElements * input.wordBits;
  const accesses = input.keyFrame ? 1 : 2;
  const stateBits = accesses * (psumBits + qBits);
  const onChip = (psumBits + qBits) / 8 <= input.stateMemory.bytes;
  const elementOps = input.keyFrame ? 0 : 2 * input.inputElements;
  const memoryPj = onChip
    ? (stateBits / 64) * sramPjPer64Bit(input.table, input.stateMemory.bytes)
    : stateBits * input.dramPjPerBit;
  const energyPj = memoryPj + elementOps * addPj(input.table, input.precision);
  return {
    stateBits,
    onChip,
    elementOps,
    energyPj,
    stateCycles: onChip ? stateBits / 8 / input.stateMemory.bandwidthBytesPerCycle : 0,
    unitCycles: Math.ceil(elementOps / 2 / input.lanes),
    dramBits: onChip ? 0 : stateBits,
  };
}
