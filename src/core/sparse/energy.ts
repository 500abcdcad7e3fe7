import { type EnergyTable, PRECISION_BITS, type Precision, sramPjPer64Bit } from '../energy-table.js';
import type { LevelAccess } from '../levels.js';
import type { EnergyComponent } from '../report.js';
import type { Traffic } from './memory.js';

/** Energy components of one layer-step, pJ; the EnergyPj of the report is their sum over steps. */
export type EnergyParts = Record<EnergyComponent, number>;

export function zeroEnergy(): EnergyParts {
  return {
    mac: 0,
    gatedMac: 0,
    register: 0,
    sram: 0,
    dram: 0,
    metadata: 0,
    deltaState: 0,
    leakage: 0,
    vector: 0,
  };
}

/** Register accesses per executed, ungated MAC: two operand reads and one partial-sum write. */
export const REGISTER_ACCESSES_PER_MAC = 3;

export interface ComputeEnergyInput {
  readonly executedMacs: number;
  readonly gatedMacs: number;
  readonly precision: Precision;
}

/**
 * mac = ungated executed × MAC(precision); gatedMac = gated × MAC × gatedMacFraction;
 * register = ungated executed × 3 × register access (a gated MAC's register traffic is in its fraction).
 */
export function computeEnergy(
  table: EnergyTable,
  input: ComputeEnergyInput,
): Pick<EnergyParts, 'mac' | 'gatedMac' | 'register'> {
  const macPj = table.macPj[input.precision];
  const ungated = input.executedMacs - input.gatedMacs;
  return {
    mac: ungated * macPj,
    gatedMac: input.gatedMacs * macPj * table.gatedMacFraction,
    register: ungated * REGISTER_ACCESSES_PER_MAC * table.registerAccessPj,
  };
}

export interface BufferSizes {
  readonly ifmapBytes: number;
  readonly filterBytes: number;
  readonly ofmapBytes: number;
}

/** Payload bits of a level: everything it moved that is not format metadata. */
function payloadBits(access: LevelAccess): number {
  return access.readBits + access.writeBits - access.metadataBits;
}

/**
 * sram = Σ buffers payload bits (reads + writes) / 64 × sramPjPer64Bit(buffer size);
 * dram = payload bits × pJ/bit; metadata = metadata bits at DRAM × DRAM pJ/bit + metadata bits at
 * the buffers × metadata pJ/bit.
 */
export function memoryEnergy(
  table: EnergyTable,
  traffic: Traffic,
  buffers: BufferSizes,
): Pick<EnergyParts, 'sram' | 'dram' | 'metadata'> {
  const sram =
    (payloadBits(traffic.ifmap) / 64) * sramPjPer64Bit(table, buffers.ifmapBytes) +
    (payloadBits(traffic.filter) / 64) * sramPjPer64Bit(table, buffers.filterBytes) +
    (payloadBits(traffic.ofmap) / 64) * sramPjPer64Bit(table, buffers.ofmapBytes);
  return {
    sram,
    dram: payloadBits(traffic.dram) * table.dramPjPerBit,
    metadata:
      traffic.dram.metadataBits * table.dramPjPerBit +
      (traffic.ifmap.metadataBits + traffic.filter.metadataBits + traffic.ofmap.metadataBits) *
        table.metadataPjPerBit,
  };
}

/** One add or compare at `precision`; without an `addPj` entry, a MAC (an upper bound). */
export function addPj(table: EnergyTable, precision: Precision): number {
  return table.addPj?.[precision] ?? table.macPj[precision];
}

/** Leakage over `cycles` at `clockHz`: mW × ns = pJ. */
export function leakageEnergy(leakageMw: number, cycles: number, clockHz: number): number {
  return leakageMw * (cycles / clockHz) * 1e9;
}

export function wordBits(precision: Precision): number {
  return PRECISION_BITS[precision];
}
