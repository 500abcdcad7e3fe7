import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PRESET_NAMES } from '../../src/core/presets.js';
import { KNOWN_MISMATCH_STALLS_FILE } from '../core/scalesim-v2-cases.js';
import {
  computeGolden,
  GOLDEN_REPORTS_DIR,
  type GoldenFile,
  goldenDiff,
  goldenSources,
} from './golden-reports.js';

/** At most this many differing fields are listed; the rest are counted. */
const SHOWN = 40;

describe('golden reports: every bundled trace and topology on every preset', () => {
  const sources = goldenSources();

  it('cover every bundled artefact and nothing else', () => {
    expect(sources.filter((s) => s.kind === 'replay').length).toBeGreaterThanOrEqual(1);
    expect(sources.filter((s) => s.kind === 'simulate').length).toBeGreaterThanOrEqual(1);
    expect(readdirSync(GOLDEN_REPORTS_DIR).sort()).toEqual(
      [...sources.map((s) => s.file), KNOWN_MISMATCH_STALLS_FILE].sort(),
    );
  });

  for (const source of sources) {
    it(`${source.source} (${source.kind})`, async () => {
      const path = join(GOLDEN_REPORTS_DIR, source.file);
      expect(existsSync(path), `${source.file} is missing: run npm run golden:update`).toBe(true);
      const golden = JSON.parse(readFileSync(path, 'utf8')) as GoldenFile;
      expect(Object.keys(golden.presets)).toEqual(PRESET_NAMES);
      const now = await computeGolden(source);
      const diff = goldenDiff(golden, now);
      const shown = diff.slice(0, SHOWN).join('\n');
      const more = diff.length > SHOWN ? `\n… and ${diff.length - SHOWN} more` : '';
      expect(
        diff.length,
        `${source.file}: ${diff.length} figures moved (golden → now). If the change is intended, run npm run golden:update and review the diff.\n${shown}${more}`,
      ).toBe(0);
    }, 120_000);
  }
});

describe('golden diff', () => {
  it('lists moved figures by preset, layer and field, within the stated tolerances', () => {
    const golden = { presets: { p: { layers: [{ name: 'conv1', cycles: 10, energyPj: 1.5 }] } } };
    const same = { presets: { p: { layers: [{ name: 'conv1', cycles: 10, energyPj: 1.5 * (1 + 1e-12) }] } } };
    expect(goldenDiff(golden, same)).toEqual([]);
    const moved = { presets: { p: { layers: [{ name: 'conv1', cycles: 11, energyPj: 1.6 }] } } };
    expect(goldenDiff(golden, moved)).toEqual([
      'presets › p › layers › conv1 › cycles: 10 → 11 (10.0 %)',
      'presets › p › layers › conv1 › energyPj: 1.5 → 1.6 (6.67 %)',
    ]);
    expect(goldenDiff({ a: 1 }, { a: 1, b: 2 })).toEqual(['b: new (not in the golden file)']);
  });
});
