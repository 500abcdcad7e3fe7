/**
 * Golden reports (docs/testing.md, "Golden reports"): for every bundled trace (traces/*.safetensors)
 * and topology (configs/topologies/*.csv), the figures that matter of its replay / simulate report
 * on every preset, per layer and in total. `npm run golden:update` writes them
 * (tools/golden-update.ts); test/testing/golden-reports.test.ts compares field by field.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { GEMM_FIELDS, loadTopology } from '../../src/config/topology.js';
import { collectRun, simulateDense } from '../../src/core/dense-engine.js';
import type { HardwareModel } from '../../src/core/hardware.js';
import { lowerTopology } from '../../src/core/lowering.js';
import { PRESET_NAMES, PRESETS } from '../../src/core/presets.js';
import { ENERGY_COMPONENTS, type LayerReport, type Report, type ReportTotal } from '../../src/core/report.js';
import { modelDenseLayer } from '../../src/core/sparse/dense-workload.js';
import { deltasimEngine } from '../../src/testing/index.js';
import { REPO_ROOT } from '../repo-files.js';

export const GOLDEN_REPORTS_DIR = join(REPO_ROOT, 'test/golden/reports');

export interface GoldenSource {
  readonly kind: 'replay' | 'simulate';
  /** Repository-relative path of the trace or topology. */
  readonly source: string;
  /** The golden file's name under GOLDEN_REPORTS_DIR. */
  readonly file: string;
}

export function goldenSources(): GoldenSource[] {
  const list = (dir: string, ext: string) =>
    readdirSync(join(REPO_ROOT, dir))
      .filter((f) => f.endsWith(ext))
      .sort()
      .map((f) => `${dir}/${f}`);
  return [
    ...list('traces', '.safetensors').map((source) => ({
      kind: 'replay' as const,
      source,
      file: `replay-${basename(source, '.safetensors')}.json`,
    })),
    ...list('configs/topologies', '.csv').map((source) => ({
      kind: 'simulate' as const,
      source,
      file: `simulate-${basename(source, '.csv')}.json`,
    })),
  ];
}

/** The figures kept per layer: counts and cycles exact, the rest floating point. */
export interface LayerFigures {
  readonly name: string;
  readonly op: string;
  readonly macs: number;
  readonly executedMacs: number;
  readonly gatedMacs: number;
  readonly skippedMacs: number;
  readonly cycles: number;
  readonly computeCycles: number;
  readonly stallCycles: number;
  readonly baselineCycles: number;
  readonly dramBytes: number;
  readonly energyPj: number;
  readonly utilization: number;
}

export type TotalFigures = Omit<ReportTotal, 'levels' | 'skippedMacs' | 'energyPj'> & {
  readonly skippedMacs: ReportTotal['skippedMacs'];
  readonly energyPj: Record<string, number>;
};

export interface PresetFigures {
  readonly layers: readonly LayerFigures[];
  readonly total: TotalFigures;
}

export interface GoldenFile {
  readonly kind: GoldenSource['kind'];
  readonly source: string;
  readonly presets: Readonly<Record<string, PresetFigures>>;
}

function skipped(l: LayerReport | ReportTotal): number {
  const s = l.skippedMacs;
  return s.zeroActivation + s.zeroWeight + s.zeroDelta + s.structural;
}

export function figuresOf(report: Report): PresetFigures {
  const t = report.total;
  const energy: Record<string, number> = { total: t.energyPj.total };
  for (const key of ENERGY_COMPONENTS) if (t.energyPj[key] !== undefined) energy[key] = t.energyPj[key];
  const { levels: _levels, ...total } = t;
  return {
    layers: report.layers.map((l) => ({
      name: l.name,
      op: l.op,
      macs: l.macs,
      executedMacs: l.executedMacs,
      gatedMacs: l.gatedMacs,
      skippedMacs: skipped(l),
      cycles: l.cycles,
      computeCycles: l.computeCycles,
      stallCycles: l.stallCycles,
      baselineCycles: l.baselineCycles,
      dramBytes: l.dramBytes,
      energyPj: l.energyPj.total,
      utilization: l.utilization,
    })),
    total: { ...total, energyPj: energy },
  };
}

/** `simulate` of a topology on a preset: SCALE-Sim timing, the replay memory / energy model. */
async function simulateOn(source: string, hw: HardwareModel): Promise<Report> {
  const path = join(REPO_ROOT, source);
  const header = readFileSync(path, 'utf8').split('\n', 1)[0]!;
  const fields = header
    .split(',')
    .map((f) => f.trim())
    .filter((f) => f !== '');
  const kind = fields.join(',') === GEMM_FIELDS.join(',') ? 'gemm' : 'conv';
  const lowered = lowerTopology(await loadTopology(path, kind, source), kind);
  // The preset's whole model (simulate --config reads dense hardware files only).
  return collectRun(
    simulateDense(lowered, {
      array: hw.array,
      dataflow: hw.dataflow,
      precision: hw.precision,
      energyTable: hw.energy,
      clockHz: hw.clockHz,
      hardwareName: hw.name,
      toolVersion: 'golden',
      sources: [source],
      layerModel: (l) => modelDenseLayer(l, hw),
    }),
  ).report;
}

/** Every preset's figures for one source, computed now. */
export async function computeGolden(g: GoldenSource): Promise<GoldenFile> {
  const presets: Record<string, PresetFigures> = {};
  for (const name of PRESET_NAMES) {
    const hw = PRESETS[name]!;
    const report =
      g.kind === 'replay'
        ? await deltasimEngine.replay(join(REPO_ROOT, g.source), hw)
        : await simulateOn(g.source, hw);
    presets[name] = figuresOf(report);
  }
  return { kind: g.kind, source: g.source, presets };
}

/** Relative tolerance of floating-point figures (energy, ratios): summation order only. */
export const FLOAT_RELATIVE_TOLERANCE = 1e-9;

/**
 * Field-by-field differences, one readable line each (`preset › layer › field: golden → now`):
 * integers (MACs, cycles, bytes) must be equal, other numbers equal within FLOAT_RELATIVE_TOLERANCE,
 * strings and the set of layers and presets identical.
 */
export function goldenDiff(golden: unknown, now: unknown, at = ''): string[] {
  if (typeof golden === 'number' && typeof now === 'number') {
    const exact = Number.isInteger(golden) && Number.isInteger(now);
    const scale = Math.max(Math.abs(golden), Math.abs(now), 1e-300);
    const ok = exact ? golden === now : Math.abs(golden - now) <= FLOAT_RELATIVE_TOLERANCE * scale;
    if (ok) return [];
    const rel = golden !== 0 ? ` (${(((now - golden) / Math.abs(golden)) * 100).toPrecision(3)} %)` : '';
    return [`${at}: ${golden} → ${now}${rel}`];
  }
  if (golden && now && typeof golden === 'object' && typeof now === 'object') {
    if (Array.isArray(golden) !== Array.isArray(now)) return [`${at}: shape changed`];
    const g = golden as Record<string, unknown>;
    const n = now as Record<string, unknown>;
    const keys = [...new Set([...Object.keys(g), ...Object.keys(n)])];
    return keys.flatMap((key) => {
      const label = Array.isArray(golden) ? String((g[key] as { name?: string })?.name ?? key) : key;
      const path = at ? `${at} › ${label}` : label;
      if (!(key in g)) return [`${path}: new (not in the golden file)`];
      if (!(key in n)) return [`${path}: gone (in the golden file only)`];
      return goldenDiff(g[key], n[key], path);
    });
  }
  return golden === now ? [] : [`${at}: ${JSON.stringify(golden)} → ${JSON.stringify(now)}`];
}
