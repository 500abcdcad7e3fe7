import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  arbitraryHardware,
  checkLaw,
  deltasimEngine,
  type Engine,
  gatingKeepsCycles,
  LAWS,
  PRESETS,
} from '../../src/testing/index.js';
import { propRuns } from '../props-config.js';

describe('every law holds for every valid hardware model (drawn)', () => {
  for (const law of LAWS) {
    it(law.name, async () => {
      await fc.assert(
        law.propertyOverHardware(arbitraryHardware({ maxRows: 8, maxCols: 8 }), deltasimEngine),
        {
          numRuns: propRuns(6),
        },
      );
    }, 300_000);
  }
});

/** Gated MACs cost an extra cycle: the gating law must catch it. */
const gatingCostsACycle: Engine = {
  name: 'gating-costs-a-cycle',
  async replay(path, hw) {
    const r = await deltasimEngine.replay(path, hw);
    return {
      ...r,
      total: { ...r.total, cycles: r.total.cycles + r.total.gatedMacs },
      layers: r.layers.map((l) => ({ ...l, cycles: l.cycles + l.gatedMacs })),
    };
  },
};

describe('a broken engine fails, replayably', () => {
  const subject = { hardware: PRESETS['eyeriss-like']!, engine: gatingCostsACycle };

  it('the same seed finds the same shrunk counterexample, and its path replays it alone', async () => {
    const first = await checkLaw(gatingKeepsCycles, subject, { runs: 30, seed: 11 });
    expect(first.passed).toBe(false);
    expect(first.error).toMatch(/cycles .* as given, .* with (gate → none|none → gate)/);
    const second = await checkLaw(gatingKeepsCycles, subject, { runs: 30, seed: 11 });
    expect(second.counterexample).toBe(first.counterexample);
    expect(second.path).toBe(first.path);
    const replayed = await checkLaw(gatingKeepsCycles, subject, { runs: 30, seed: 11, path: first.path! });
    expect(replayed.passed).toBe(false);
    expect(replayed.counterexample).toBe(first.counterexample);
    expect(replayed.runs).toBe(1);
  }, 120_000);

  it('the other laws are not fooled into failing by it', async () => {
    const overlap = LAWS.find((l) => l.name === 'overlap-order')!;
    expect((await checkLaw(overlap, subject, { runs: 5, seed: 11 })).passed).toBe(true);
  }, 120_000);
});
