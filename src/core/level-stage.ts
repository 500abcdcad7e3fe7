import { type HardwareModel, PSUM_BITS } from './hardware.js';
import {
  addAccess,
  type LevelAccess,
  type LevelName,
  NO_ACCESS,
  type StorageLevel,
  slowestLevel,
} from './levels.js';
import { wordBits } from './sparse/energy.js';
import type { StepTraffic } from './traffic-stage.js';

/** No unit besides the array and the levels (a delta unit that is absent takes 0 cycles). */
const NO_UNITS: Readonly<Record<string, number>> = {};

/** The work of one layer-step the levels are charged with. */
export interface LevelStepInput {
  readonly computeCycles: number;
  readonly executedMacs: number;
  readonly gatedMacs: number;
  readonly traffic: StepTraffic;
}

export interface LevelStepResult {
  readonly levels: readonly StorageLevel[];
  readonly cycles: number;
  /** What set the step's cycles: `compute`, `delta-unit` or a level name. */
  readonly bound: string;
}

/**
 * The levels stage: the step's traffic as named storage levels (capacity, bandwidth, bits), then
 * Timeloop's slowdown rule — the step lasts as long as the slowest of the array, the delta unit
 * and the levels (docs/model.md, "Levels and stalls").
 */
export function levelStage(hw: HardwareModel, input: LevelStepInput): LevelStepResult {
  const { traffic } = input;
  const sramBw = hw.sram.bandwidthBytesPerCycle;
  const pes = hw.array.rows * hw.array.cols;
  const bits = wordBits(hw.precision);
  // State that does not fit the state memory lives in DRAM.
  // Summed in the order the parts come (delta state, then other state), from no access.
  let onChipState: LevelAccess = NO_ACCESS;
  let dram = traffic.dram;
  if (traffic.deltaState) {
    if (traffic.deltaState.onChip) onChipState = addAccess(onChipState, traffic.deltaState.access);
    else dram = addAccess(dram, traffic.deltaState.access);
  }
  if (traffic.stateAccess) {
    if (traffic.stateAccess.onChip) onChipState = addAccess(onChipState, traffic.stateAccess.access);
    else dram = addAccess(dram, traffic.stateAccess.access);
  }
  const hasState = traffic.deltaState !== undefined || traffic.stateAccess !== undefined;
  // Every level from one literal (storageLevel): spread literals made a hidden class per source.
  const levels: StorageLevel[] = [
    storageLevel('dram', Number.POSITIVE_INFINITY, hw.dram.bandwidthBytesPerCycle, dram),
    storageLevel('ifmap', hw.sram.ifmapBytes, sramBw, traffic.ifmap),
    // Event-driven PEs hold their weights locally (the filter memory split over the PEs): each
    // reads one weight per cycle, so the weight reads never outpace the PEs themselves.
    storageLevel(
      'filter',
      hw.sram.filterBytes,
      hw.arrayKind === 'event-driven' ? Math.max(sramBw, (pes * bits) / 8) : sramBw,
      traffic.filter,
    ),
    storageLevel('ofmap', hw.sram.ofmapBytes, sramBw, traffic.ofmap),
  ];
  if (hasState) {
    levels.push(
      storageLevel('state', hw.stateMemory.bytes, hw.stateMemory.bandwidthBytesPerCycle, onChipState),
    );
  }
  // PE registers: two operand reads and one partial-sum write per ungated MAC, one word each, at
  // the PEs' own pace (never a bound: they are part of the compute).
  const ungated = input.executedMacs - input.gatedMacs;
  levels.push(
    storageLevel('registers', Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY, {
      readBits: 2 * ungated * bits,
      writeBits: ungated * PSUM_BITS,
      metadataBits: 0,
    }),
  );
  const { cycles, bound } = slowestLevel(
    input.computeCycles,
    levels,
    traffic.deltaState ? { 'delta-unit': traffic.deltaState.unitCycles } : NO_UNITS,
  );
  return { levels, cycles, bound };
}

function storageLevel(
  name: LevelName,
  capacityBytes: number,
  bandwidthBytesPerCycle: number,
  access: LevelAccess,
): StorageLevel {
  return {
    name,
    capacityBytes,
    bandwidthBytesPerCycle,
    readBits: access.readBits,
    writeBits: access.writeBits,
    metadataBits: access.metadataBits,
  };
}
