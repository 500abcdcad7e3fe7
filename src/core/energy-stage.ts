import type { HardwareModel } from './hardware.js';
import { computeEnergy, type EnergyParts, leakageEnergy, memoryEnergy, zeroEnergy } from './sparse/energy.js';
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
  return {
    ...zeroEnergy(),
    ...computeEnergy(hw.energy, {
      executedMacs: input.executedMacs,
      gatedMacs: input.gatedMacs,
      precision: hw.precision,
    }),
    ...memoryEnergy(hw.energy, input.traffic, hw.sram),
    deltaState: input.traffic.deltaState?.energyPj ?? 0,
    leakage: leakageEnergy(hw.leakageMw, input.cycles, hw.clockHz),
  };
}
