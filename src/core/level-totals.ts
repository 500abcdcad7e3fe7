import { LEVEL_NAMES, type LevelName, type LevelReport, levelCycles, type StorageLevel } from './levels.js';

/** Per-level sums over a layer's steps: what each level moved, demanded and bounded. */
export interface LevelTotals {
  add(levels: readonly StorageLevel[], bound: string): void;
  bits(name: LevelName): { readonly readBits: number; readonly writeBits: number };
  report(): LevelReport[];
}

export function createLevelTotals(): LevelTotals {
  const totals = new Map<
    LevelName,
    { capacityBytes: number; readBits: number; writeBits: number; cycles: number; boundSteps: number }
  >();
  return {
    add(levels, bound) {
      for (let i = 0; i < levels.length; i++) {
        const level = levels[i]!;
        const t = totals.get(level.name) ?? {
          capacityBytes: level.capacityBytes,
          readBits: 0,
          writeBits: 0,
          cycles: 0,
          boundSteps: 0,
        };
        t.readBits += level.readBits;
        t.writeBits += level.writeBits;
        t.cycles += levelCycles(level);
        // No branch: a level that first bounds a step late would meet this increment with no type
        // feedback in optimized code (a deopt of every function add is inlined into).
        t.boundSteps += bound === level.name ? 1 : 0;
        totals.set(level.name, t);
      }
    },
    bits(name) {
      const t = totals.get(name);
      return { readBits: t?.readBits ?? 0, writeBits: t?.writeBits ?? 0 };
    },
    report() {
      return LEVEL_NAMES.filter((name) => totals.has(name)).map((name): LevelReport => {
        const l = totals.get(name)!;
        return {
          name,
          capacityBytes: Number.isFinite(l.capacityBytes) ? l.capacityBytes : null,
          readBytes: l.readBits / 8,
          writeBytes: l.writeBits / 8,
          cycles: l.cycles,
          boundSteps: l.boundSteps,
        };
      });
    },
  };
}
