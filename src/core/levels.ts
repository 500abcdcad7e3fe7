/**
 * Named storage levels as data (Timeloop's view): each level has a capacity, a bandwidth and the
 * bits read from and written to it in one layer-step. The step lasts as long as the slowest of the
 * array and the levels (docs/model.md, "Levels and stalls").
 */
export type LevelName = 'dram' | 'ifmap' | 'filter' | 'ofmap' | 'state' | 'registers';

export const LEVEL_NAMES: readonly LevelName[] = ['dram', 'ifmap', 'filter', 'ofmap', 'state', 'registers'];

/** Bits moved at one level; `metadataBits` is the share of reads + writes that is format metadata. */
export interface LevelAccess {
  readonly readBits: number;
  readonly writeBits: number;
  readonly metadataBits: number;
}

export interface StorageLevel extends LevelAccess {
  readonly name: LevelName;
  /** Infinity = unbounded. */
  readonly capacityBytes: number;
  /** Infinity = never limits (SCALE-Sim's CALC mode). */
  readonly bandwidthBytesPerCycle: number;
}

export const NO_ACCESS: LevelAccess = { readBits: 0, writeBits: 0, metadataBits: 0 };

export function addAccess(a: LevelAccess, b: LevelAccess): LevelAccess {
  return {
    readBits: a.readBits + b.readBits,
    writeBits: a.writeBits + b.writeBits,
    metadataBits: a.metadataBits + b.metadataBits,
  };
}

/** Cycles a level needs to move its bits: ⌈(reads + writes) / 8 / bandwidth⌉ (0 at unbounded bandwidth). */
export function levelCycles(level: StorageLevel): number {
  const bytes = (level.readBits + level.writeBits) / 8;
  if (bytes === 0 || level.bandwidthBytesPerCycle === Number.POSITIVE_INFINITY) return 0;
  return Math.ceil(bytes / level.bandwidthBytesPerCycle);
}

/**
 * Timeloop's slowdown rule: `cycles = max(compute, other units, each level's cycles)`; the bound is
 * whatever set it (`compute` on a tie with the array).
 */
export function slowestLevel(
  computeCycles: number,
  levels: readonly StorageLevel[],
  units: Readonly<Record<string, number>> = {},
): { readonly cycles: number; readonly bound: string } {
  let cycles = computeCycles;
  let bound = 'compute';
  // Indexed loops, no entries array or iterator: this runs twice per layer-step.
  for (const name in units) {
    const c = units[name]!;
    if (c > cycles) {
      cycles = c;
      bound = name;
    }
  }
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    const c = levelCycles(level);
    if (c > cycles) {
      cycles = c;
      bound = level.name;
    }
  }
  return { cycles, bound };
}

/** A level's figures summed over steps, as reports carry them. */
export interface LevelReport {
  readonly name: LevelName;
  readonly capacityBytes: number | null;
  readonly readBytes: number;
  readonly writeBytes: number;
  /** Σ over steps of the cycles this level needed on its own (its bandwidth demand). */
  readonly cycles: number;
  /** Steps whose duration this level set (it was the slowest). */
  readonly boundSteps: number;
}
