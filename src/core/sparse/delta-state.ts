import type { EnergyTable, Precision } from '../energy-table.js';
import { sramPjPer64Bit } from '../energy-table.js';
import { PSUM_BITS, type StateMemoryModel } from '../hardware.js';
import type { LevelAccess } from '../levels.js';
import { addPj } from './energy.js';

/** The bookkeeping delta mode pays per layer and step, on top of the MACs of the non-zero Δ. */
export interface DeltaStateCost {
  /** Reads and writes of y (32-bit partial sums) and q_{t−1}, at the state memory or, spilled, at DRAM. */
  readonly access: LevelAccess;
  /** True when y and q of the layer fit the state memory; otherwise they live in DRAM. */
  readonly onChip: boolean;
  /** Subtractions and threshold compares (one each per input element; none on a key frame). */
  readonly elementOps: number;
  readonly energyPj: number;
  /** Cycles of the element-wise delta unit (`lanes` elements per cycle), overlapped with the array. */
  readonly unitCycles: number;
}

export interface DeltaStateInput {
  readonly inputElements: number;
  readonly outputElements: number;
  /** Outputs at least one event reaches this step (from the masks). */
  readonly touchedOutputs: number;
  /** Input elements whose Δ is non-zero this step (the events; q_{t−1} is updated there). */
  readonly changedInputs: number;
  /**
   * Times an output's partial sum is accumulated per step: 1 under OS, the row folds under WS/IS
   * (K is split over row folds, each adds its share into y).
   */
  readonly psumPasses: number;
  readonly wordBits: number;
  readonly keyFrame: boolean;
  readonly stateMemory: StateMemoryModel;
  readonly table: EnergyTable;
  readonly precision: Precision;
  /** Width of the element-wise unit computing deltas (the array's column count). */
  readonly lanes: number;
}

/**
 * Per step (docs/model.md, "Temporal (delta) mode"). The partial sums y live in the state memory
 * and are accumulated there, once (the ofmap buffer is not charged for them):
 * - key frame: y is rebuilt for every output — `psumPasses` writes and `psumPasses − 1` reads per
 *   output — and q is written once for every input; no subtraction;
 * - other steps: y is read and written `psumPasses` times only for the outputs events touch;
 *   q_{t−1} is read for every input (Δ = q_t − q_{t−1} needs it) and written only where Δ ≠ 0;
 *   one subtract and one compare per input element.
 * Energy: state bits / 64 × SRAM(state memory size) when y and q fit, DRAM per bit otherwise,
 * plus element ops × add energy.
 */
export function deltaStateCost(input: DeltaStateInput): DeltaStateCost {
  const w = input.wordBits;
  const passes = input.psumPasses;
  let readBits: number;
  let writeBits: number;
  if (input.keyFrame) {
    readBits = input.outputElements * PSUM_BITS * (passes - 1);
    writeBits = input.outputElements * PSUM_BITS * passes + input.inputElements * w;
  } else {
    readBits = input.touchedOutputs * PSUM_BITS * passes + input.inputElements * w;
    writeBits = input.touchedOutputs * PSUM_BITS * passes + input.changedInputs * w;
  }
  const stateBytes = (input.outputElements * PSUM_BITS + input.inputElements * w) / 8;
  const onChip = stateBytes <= input.stateMemory.bytes;
  const elementOps = input.keyFrame ? 0 : 2 * input.inputElements;
  const bits = readBits + writeBits;
  const memoryPj = onChip
    ? (bits / 64) * sramPjPer64Bit(input.table, input.stateMemory.bytes)
    : bits * input.table.dramPjPerBit;
  return {
    access: { readBits, writeBits, metadataBits: 0 },
    onChip,
    elementOps,
    energyPj: memoryPj + elementOps * addPj(input.table, input.precision),
    unitCycles: Math.ceil(elementOps / 2 / input.lanes),
  };
}
