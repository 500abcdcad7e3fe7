import { sramPjPer64Bit } from './energy-table.js';
import type { HardwareModel } from './hardware.js';
import { computeEnergy, type EnergyParts, leakageEnergy, memoryEnergy } from './sparse/energy.js';
import type { StepTraffic } from './traffic-stage.js';

export interface EnergyStepInput {
  readonly executedMacs: number;
  readonly gatedMacs: number;
  readonly traffic: StepTraffic;
  /** The step's cycles (memory included): leakage runs for as long as the step lasts. */
  readonly cycles: number;
}

/** The energy stage: actions × energy per action from the table, plus leakage (docs/model.md, "Energy"). */
export function energyStage(hw: HardwareModel, input: EnergyStepInput): EnergyParts {
  const memory = memoryEnergy(hw.energy, input.traffic, hw.sram);
  // Recurrent state and reconstructed q: SRAM at the state memory's size, or DRAM when spilled.
  const state = input.traffic.stateAccess;
  if (state) {
    const bits = state.access.readBits + state.access.writeBits;
    if (state.onChip) memory.sram += (bits / 64) * sramPjPer64Bit(hw.energy, hw.stateMemory.bytes);
    else memory.dram += bits * hw.energy.dramPjPerBit;
  }
  const compute = computeEnergy(hw.energy, {
    executedMacs: input.executedMacs,
    gatedMacs: input.gatedMacs,
    precision: hw.precision,
  });
  // One literal, not spreads of partial records: this runs twice per layer-step.
  return {
    mac: compute.mac,
    gatedMac: compute.gatedMac,
    register: compute.register,
    sram: memory.sram,
    dram: memory.dram,
    metadata: memory.metadata,
    deltaState: input.traffic.deltaState?.energyPj ?? 0,
    leakage: leakageEnergy(hw.leakageMw, input.cycles, hw.clockHz),
    vector: 0,
  };
}
