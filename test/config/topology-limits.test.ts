import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { COMPUTE_REPORT_MAX_ROWS } from '../../src/cli/reporters/scalesim-report.js';
import {
  loadTopology,
  parseTopologyCsv,
  readTopology,
  TOPOLOGY_MAX_LINE_CHARS,
} from '../../src/config/topology.js';

import type { Report } from '../../src/core/report.js';
import { runInProcess } from '../cli/run-in-process.js';

/** Large and hostile topologies: streamed reading, DP channels in closed form, exact totals. */
const dir = mkdtempSync(join(tmpdir(), 'deltasim-topology-limits-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HEADER =
  'Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,';

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function simulate(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runInProcess(['simulate', ...argv], dir);
}

const lastReport = (stdout: string): Report => JSON.parse(stdout.trimEnd().split('\n').pop()!) as Report;

describe('streamed topology reader', () => {
  test('chunk boundaries, mixed line endings and a BOM read as the whole-text parser reads them', async () => {
    // Rows of varying length put every kind of line end across the 256 KiB chunk boundary somewhere.
    const endings = ['\n', '\r\n', '\r'];
    let text = `\ufeff${HEADER}\n`;
    for (let i = 0; text.length < 600 * 1024; i++) {
      text += `l${i}${' '.repeat(i % 7)}, ${8 + (i % 5)}, 8, 3, 3, ${1 + (i % 9)}, 4, 1,${endings[i % 3]}`;
      if (i % 11 === 0) text += endings[(i + 1) % 3]; // blank lines
    }
    const path = file('mixed.csv', text);
    const streamed = await loadTopology(path, 'conv');
    expect(streamed).toEqual(parseTopologyCsv(text.slice(1), path, 'conv'));
    expect(streamed.length).toBeGreaterThan(15_000);
    let batches = 0;
    for await (const batch of readTopology(path, 'conv')) batches += batch.length > 0 ? 1 : 0;
    expect(batches).toBeGreaterThan(1);
  });

  test('a CRLF split exactly at the chunk boundary is one line end, not two', async () => {
    const chunk = 256 * 1024;
    let text = `${HEADER}\r\n`;
    let rows = 0;
    while (chunk - 1 - text.length > 200) text += `a${rows++}, 8, 8, 3, 3, 1, 1, 1,\r\n`;
    const last = `a${rows++}, 8, 8, 3, 3, 1, 1, 1,`;
    text += `${last}${' '.repeat(chunk - 1 - text.length - last.length)}\r\nb, 8, 8, 3, 3, 2, 2, 1,\r\n`;
    expect(text.indexOf('\r\nb')).toBe(chunk - 1);
    const layers = await loadTopology(file('boundary.csv', text), 'conv');
    expect(layers).toHaveLength(rows + 1);
    expect(layers.at(-1)).toMatchObject({ name: 'b', channels: 2 });
    // Row numbers after the boundary stay right: the split \r\n counted as one line end.
    const bad = file('boundary-bad.csv', text.replace('b, 8, 8, 3, 3, 2,', 'b, 8, 8, 3, 3, x,'));
    await expect(loadTopology(bad, 'conv')).rejects.toThrow(`${bad}: row ${rows + 2}, field "Channels"`);
  });

  test('a line past the cap is refused by row, without reading the rest into memory', async () => {
    const path = file(
      'long.csv',
      `${HEADER}\nx, 8, 8, 3, 3, 1, 1, 1,\n${'y'.repeat(TOPOLOGY_MAX_LINE_CHARS + 1)}\n`,
    );
    await expect(loadTopology(path, 'conv')).rejects.toThrow(
      `${path}: row 3: line longer than ${TOPOLOGY_MAX_LINE_CHARS} characters`,
    );
    const noNewline = file('one-line.csv', 'z'.repeat(1024 * 1024));
    await expect(loadTopology(noNewline, 'conv')).rejects.toThrow(
      `${noNewline}: row 1: line longer than ${TOPOLOGY_MAX_LINE_CHARS} characters`,
    );
  });

  test('a file of only a header has no layers', async () => {
    const path = file('empty.csv', `${HEADER}\n\n`);
    await expect(loadTopology(path, 'conv')).rejects.toThrow(`${path}: no layers`);
  });
});

describe('DP layers in closed form', () => {
  test('a 5e6-channel DP row is one layer: 5e6 × the one-channel figures, exactly', async () => {
    const one = await simulate([
      '--topology',
      file('dp1.csv', `${HEADER}\nx_DP, 56, 56, 3, 3, 1, 1, 1,\n`),
      '--json',
    ]);
    const many = await simulate([
      '--topology',
      file('dp5e6.csv', `${HEADER}\nx_DP, 56, 56, 3, 3, 5000000, 1, 1,\n`),
      '--json',
    ]);
    expect(many.stderr).toBe('');
    const a = lastReport(one.stdout).layers[0]!;
    const b = lastReport(many.stdout).layers[0]!;
    expect(b).toMatchObject({ name: 'x_DP', op: 'depthwise', gemms: 5_000_000 });
    for (const key of ['macs', 'folds', 'cycles', 'denseCycles', 'stallCycles'] as const) {
      expect(b[key], key).toBe(a[key] * 5_000_000);
    }
    expect(b.utilization).toBe(a.utilization);
    expect(b.energyPj.total).toBeCloseTo(a.energyPj.total * 5_000_000, 0);
    expect(lastReport(many.stdout).total.cycles).toBe(b.cycles);
  });

  test(`--scalesim-report past ${COMPUTE_REPORT_MAX_ROWS} rows is refused before the run, nothing written`, async () => {
    const out = join(dir, 'report-out');
    const r = await simulate([
      '--topology',
      file('dp2e6.csv', `${HEADER}\nx_DP, 8, 8, 3, 3, 2000000, 1, 1,\n`),
      '--scalesim-report',
      out,
    ]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `deltasim: UsageError: --scalesim-report: the topology lists 2000000 SCALE-Sim layers (a DP layer one per channel); COMPUTE_REPORT.csv holds at most ${COMPUTE_REPORT_MAX_ROWS} rows\n`,
    );
    expect(existsSync(join(out, 'COMPUTE_REPORT.csv'))).toBe(false);
  });
});

describe('exact totals', () => {
  test('200 layers of 2^52 MACs: an explicit error, not a rounded total', async () => {
    // M·N·K = 2^26 · 2^13 · 2^13 = 2^52 per layer: each exact, the sum 200·2^52 is not.
    const rows = Array.from({ length: 200 }, (_, i) => `g${i}, 67108864, 8192, 8192,`);
    const path = file('big-gemm.csv', `Layer, M, N, K,\n${rows.join('\n')}\n`);
    const r = await simulate(['--topology', path, '--gemm', '--json']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      new RegExp(
        `^deltasim: TopologyError: ${path}: total macs [0-9.e+]+ exceeds 2\\^53 - 1: totals cannot be exact \\(split the input into smaller runs\\)\\n$`,
      ),
    );
  });

  test('totals just below 2^53 are printed exactly, as JSON numbers', async () => {
    const rows = Array.from({ length: 2 }, (_, i) => `g${i}, 67108864, 8192, 8191,`);
    const r = await simulate([
      '--topology',
      file('ok-gemm.csv', `Layer, M, N, K,\n${rows.join('\n')}\n`),
      '--gemm',
      '--json',
    ]);
    expect(r.stderr).toBe('');
    const total = lastReport(r.stdout).total.macs;
    expect(Number.isSafeInteger(total)).toBe(true);
    expect(BigInt(total)).toBe(2n * 67108864n * 8192n * 8191n);
  });
});
