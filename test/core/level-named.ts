import type { LevelName, LevelReport, StorageLevel } from '../../src/core/levels.js';

/** The named level of a step's or a report's levels (fails the test when it is absent). */
export function levelNamed<T extends StorageLevel | LevelReport>(levels: readonly T[], name: LevelName): T {
  const found = levels.find((l) => l.name === name);
  if (!found) throw new Error(`no level ${name}`);
  return found;
}
