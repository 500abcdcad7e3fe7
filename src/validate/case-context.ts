import type { HardwareModel } from '../core/hardware.js';
import type { CaseName, CaseResult } from './row.js';

/** What a case gets: the size to run, the seed, and the validated designs' hardware files. */
export interface CaseContext {
  /** Small seeded instances (CI); false = the published sizes where they are affordable. */
  readonly quick: boolean;
  readonly seed: number;
  /** Loads `configs/hw/NAME.yaml` through the hardware-file loader. */
  hardware(name: string): Promise<HardwareModel>;
}

export interface ValidationCase {
  readonly name: CaseName;
  /** One line: what is compared with what. */
  readonly title: string;
  run(context: CaseContext): Promise<CaseResult>;
}
