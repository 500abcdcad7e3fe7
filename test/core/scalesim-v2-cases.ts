/** The real SCALE-Sim v2 runs (test/golden/scalesim-v2-runs.json, produced by tools/scalesim-v2-runs.py) and how deltasim is run on one. */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { CliIo } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/program.js';
import { scaleSimLayers } from '../../src/cli/reporters/scalesim-report.js';
import type { Report } from '../../src/core/report.js';

/** One COMPUTE_REPORT.csv row as real SCALE-Sim printed it (the percentages kept as printed text). */
export interface ScaleSimRow {
  readonly totalCycles: number;
  readonly stallCycles: number;
  readonly overallUtilPercent: string;
  readonly mappingEfficiencyPercent: string;
  readonly computeUtilPercent: string;
}

export interface ScaleSimRun {
  readonly name: string;
  readonly gemm: boolean;
  /** The topology file given to SCALE-Sim, one string per line. */
  readonly csv: readonly string[];
  readonly rows: number;
  readonly cols: number;
  readonly dataflow: string;
  readonly interfaceBandwidth: 'CALC' | 'USER';
  /** The .cfg given to SCALE-Sim (and here to deltasim), one string per line. */
  readonly config: readonly string[];
  /** What SCALE-Sim's own topology loader returned, DP layers expanded per channel. */
  readonly scalesimLayerNames: readonly string[];
  /** SCALE-Sim's COMPUTE_REPORT.csv, byte for byte, one string per line. */
  readonly computeReport: readonly string[];
  readonly layers: readonly ScaleSimRow[];
  /**
   * Set where deltasim disagrees by design (SCALE-Sim's stall model is not ours): the diagnosis. Such
   * a case asserts what does agree, and today's stall figures (test/golden/reports).
   */
  readonly knownMismatch?: string;
}

export const golden = JSON.parse(
  readFileSync(new URL('../golden/scalesim-v2-runs.json', import.meta.url), 'utf8'),
) as { producedBy: string; cases: readonly ScaleSimRun[] };

let scratchDir: string | undefined;
/** A scratch directory for the runs, made on first use; the caller removes it (removeScratch). */
function scratch(): string {
  scratchDir ??= mkdtempSync(join(tmpdir(), 'deltasim-scalesim-v2-'));
  return scratchDir;
}

export function removeScratch(): void {
  if (scratchDir) rmSync(scratchDir, { recursive: true, force: true });
  scratchDir = undefined;
}

function fakeIo(): CliIo & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    env: {},
    cwd: scratch(),
    out: () => out,
    err: () => err,
  };
}

/** Runs `deltasim simulate` in-process on the case's own topology and .cfg, as SCALE-Sim was run. */
export async function simulate(
  c: ScaleSimRun,
  index: number,
): Promise<{ report: Report; computeReport: string }> {
  const dir = join(scratch(), String(index));
  mkdirSync(dir);
  const topology = join(dir, c.gemm ? 'gemm.csv' : 'topology.csv');
  const config = join(dir, 'scale.cfg');
  writeFileSync(topology, `${c.csv.join('\n')}\n`);
  writeFileSync(config, `${c.config.join('\n')}\n`);
  const io = fakeIo();
  const argv = ['simulate', '--topology', topology, '--config', config, '--array', `${c.rows}x${c.cols}`];
  argv.push('--dataflow', c.dataflow, '--json', '--scalesim-report', dir, ...(c.gemm ? ['--gemm'] : []));
  const code = await runCli(argv, io);
  expect(io.err(), c.name).toBe('');
  expect(code, c.name).toBe(0);
  const lines = io.out().trimEnd().split('\n');
  const report = JSON.parse(lines[lines.length - 1]!) as Report;
  return { report, computeReport: readFileSync(join(dir, 'COMPUTE_REPORT.csv'), 'utf8') };
}

/** Today's deltasim stall cycles per SCALE-Sim layer of every case whose stalls differ by design. */
export async function knownMismatchStalls(): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const [index, c] of golden.cases.entries()) {
    if (c.knownMismatch === undefined) continue;
    const { report } = await simulate(c, index);
    out[c.name] = scaleSimLayers(report.layers).map((l) => l.stallCycles);
  }
  return out;
}

export const KNOWN_MISMATCH_STALLS_FILE = 'scalesim-v2-known-mismatch-stalls.json';
