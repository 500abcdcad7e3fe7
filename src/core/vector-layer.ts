import { type HardwareModel, vectorUnitOf } from './hardware.js';
import { levelStage } from './level-stage.js';
import { createLevelTotals } from './level-totals.js';
import { NO_ACCESS } from './levels.js';
import type { StepOutcome } from './replay-engine.js';
import { ENERGY_COMPONENTS, type EnergyPj, type LayerReport } from './report.js';
import { timingFigures } from './report-total.js';
import { addPj, leakageEnergy, memoryEnergy, wordBits, zeroEnergy } from './sparse/energy.js';
import type { StepTraffic } from './traffic-stage.js';
import { type ElementwiseLayerSpec, vectorWork } from './vector-unit.js';

/** One step of an element-wise layer on the vector unit. */
/** A MAC layer's step outcome with no MACs, no verify, and the vector unit's lane-ops. */
export interface VectorStepOutcome extends Omit<StepOutcome, 'macs' | 'executedMacs' | 'verify'> {
  readonly macs: 0;
  readonly executedMacs: 0;
  readonly ops: number;
}

export interface VectorLayerReplay {
  step(): VectorStepOutcome;
  report(): LayerReport;
}

/**
 * An element-wise layer replayed on the vector unit (docs/model.md, "Vector unit"): per step the
 * unit's cycles (vector-unit.ts), its inputs read from the ifmap buffer and its outputs written to
 * the ofmap buffer at the datapath's word size, through the same levels and energy table as a MAC
 * layer; lane-ops cost one add each (`vector` energy). The trace stores no element-wise values, so
 * the work is dense and the dense baseline is the layer itself. Pure.
 */
export function createVectorLayerReplay(
  spec: ElementwiseLayerSpec & { readonly op: string },
  hw: HardwareModel,
): VectorLayerReplay {
  const unit = vectorUnitOf(hw);
  const work = vectorWork(spec, unit);
  const bits = wordBits(hw.precision);
  // On chip between its producer and its consumer: nothing goes to DRAM.
  const traffic: StepTraffic = {
    dram: NO_ACCESS,
    ifmap: { readBits: work.inputElements * bits, writeBits: 0, metadataBits: 0 },
    filter: NO_ACCESS,
    ofmap: { readBits: 0, writeBits: work.outputElements * bits, metadataBits: 0 },
    residentSavedBits: 0,
  };
  const { levels, cycles, bound } = levelStage(hw, {
    computeCycles: work.cycles,
    executedMacs: 0,
    gatedMacs: 0,
    traffic,
  });
  const memory = memoryEnergy(hw.energy, traffic, hw.sram);
  const stepEnergy = {
    ...zeroEnergy(),
    ...memory,
    leakage: leakageEnergy(hw.leakageMw, cycles, hw.clockHz),
    vector: work.ops * addPj(hw.energy, hw.precision),
  };
  let stepEnergyPj = 0;
  for (const key of ENERGY_COMPONENTS) stepEnergyPj += stepEnergy[key];
  const levelTotals = createLevelTotals();
  let steps = 0;

  return {
    step(): VectorStepOutcome {
      steps++;
      levelTotals.add(levels, bound);
      return {
        macs: 0,
        executedMacs: 0,
        cycles,
        computeCycles: work.cycles,
        denseCycles: work.cycles,
        bound,
        levels,
        energyPj: stepEnergyPj,
        ops: work.ops,
      };
    },
    report(): LayerReport {
      const energyPj: Record<string, number> = {};
      let total = 0;
      for (const key of ENERGY_COMPONENTS) {
        // Absent = not modelled: nothing on the array, no delta state; leakage only with a figure.
        if (key === 'mac' || key === 'gatedMac' || key === 'register' || key === 'deltaState') continue;
        if (key === 'leakage' && hw.leakageMw === 0) continue;
        energyPj[key] = stepEnergy[key] * steps;
        total += energyPj[key];
      }
      const dram = levelTotals.bits('dram');
      return {
        name: spec.name,
        op: spec.op,
        gemms: 0,
        macs: 0,
        executedMacs: 0,
        gatedMacs: 0,
        skippedMacs: { zeroActivation: 0, zeroWeight: 0, zeroDelta: 0, structural: 0 },
        folds: 0,
        denseCycles: work.cycles * steps,
        ...timingFigures({
          cycles: cycles * steps,
          computeCycles: work.cycles * steps,
          stallCycles: (cycles - work.cycles) * steps,
          baselineCycles: cycles * steps,
          baselineComputeCycles: work.cycles * steps,
          baselineEnergyPj: total,
          dramBytes: (dram.readBits + dram.writeBits) / 8,
          baselineDramBytes: (dram.readBits + dram.writeBits) / 8,
          residentSavedDramBytes: 0,
        }),
        utilization: 0,
        mappingEfficiency: 0,
        energyPj: { ...energyPj, total } as EnergyPj,
        levels: levelTotals.report(),
        vectorOps: work.ops * steps,
        elementwiseKind: work.kind,
      };
    },
  };
}
