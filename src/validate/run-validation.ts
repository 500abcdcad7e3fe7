import { fileURLToPath } from 'node:url';
import { loadHardwareFile } from '../config/hardware-file.js';
import type { HardwareModel } from '../core/hardware.js';
import type { ValidationCase } from './case-context.js';
import { deltaTrendCase } from './cases/delta-trend.js';
import { dstcCase } from './cases/dstc.js';
import { eyerissV1DramCase } from './cases/eyeriss-v1-dram.js';
import { eyerissV2PeCase } from './cases/eyeriss-v2-pe.js';
import { scnnTrendCase } from './cases/scnn-trend.js';
import { stc2of4Case } from './cases/stc-2of4.js';
import type { CaseName, CaseResult } from './row.js';

export const VALIDATION_CASES: readonly ValidationCase[] = [
  eyerissV2PeCase,
  eyerissV1DramCase,
  dstcCase,
  stc2of4Case,
  scnnTrendCase,
  deltaTrendCase,
];

/** The bundled hardware files (configs/hw, beside src/ and dist/ alike). */
const HARDWARE_DIR = fileURLToPath(new URL('../../configs/hw/', import.meta.url));

export interface ValidationOptions {
  readonly cases: readonly CaseName[];
  readonly quick: boolean;
  readonly seed: number;
  /** Called before each case runs (progress). */
  readonly onCase?: (c: ValidationCase) => void;
}

/** Runs the chosen cases in order on seeded synthetic workloads. */
export async function runValidation(options: ValidationOptions): Promise<CaseResult[]> {
  const loaded = new Map<string, Promise<HardwareModel>>();
  const hardware = (name: string): Promise<HardwareModel> => {
    let hw = loaded.get(name);
    if (!hw) {
      hw = loadHardwareFile(`${HARDWARE_DIR}${name}.yaml`, `configs/hw/${name}.yaml`);
      loaded.set(name, hw);
    }
    return hw;
  };
  const results: CaseResult[] = [];
  for (const c of VALIDATION_CASES) {
    if (!options.cases.includes(c.name)) continue;
    options.onCase?.(c);
    results.push(await c.run({ quick: options.quick, seed: options.seed, hardware }));
  }
  return results;
}
