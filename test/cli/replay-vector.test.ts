import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { PRESET_NAMES } from '../../src/core/presets.js';
import type { Report } from '../../src/core/report.js';
import { ROOT, runBuiltCli } from './built-cli.js';

const cwd = mkdtempSync(join(tmpdir(), 'deltasim-vector-'));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

test('replay --verify of the bundled iFormer and DeltaNet traces on every preset: element-wise layers on the vector unit, depthwise channels sharing folds', async () => {
  const iformer = join(ROOT, 'traces/iformer-mnist.safetensors');
  const deltanet = join(ROOT, 'traces/deltanet-mqar.safetensors');
  // iFormer on every preset; DeltaNet (128 tokens, slower) on two presets (OS and WS arrays).
  const common = ['--verify', '--json', '--ui', 'plain'];
  const [a, b] = await Promise.all([
    runBuiltCli(['replay', iformer, ...PRESET_NAMES.flatMap((p) => ['--preset', p]), ...common], {
      cwd,
      timeoutMs: 840_000,
    }),
    runBuiltCli(['replay', deltanet, '--preset', 'scalesim-default', '--preset', 'eyeriss-like', ...common], {
      cwd,
      timeoutMs: 840_000,
    }),
  ]);
  for (const [r, runCount] of [
    [a!, PRESET_NAMES.length],
    [b!, 2],
  ] as const) {
    expect(r.stderr).toBe(`deltasim: verify: every layer matches the dense product (${runCount} runs)\n`);
    expect(r.code).toBe(0);
  }
  const lines = (a!.stdout + b!.stdout)
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const runs = lines.filter((l) => Array.isArray(l.runs)).flatMap((l) => l.runs as Report[]);
  expect(runs).toHaveLength(PRESET_NAMES.length + 2);
  for (const report of runs) {
    const elementwise = report.layers.filter((l) => l.op === 'elementwise');
    if (report.sources[0]!.endsWith('iformer-mnist.safetensors')) {
      // Max-pool, average pool, upsample, LayerNorm, softmax, activation, positional add: all timed.
      const kinds = new Set(elementwise.map((l) => l.elementwiseKind));
      for (const kind of ['max-pool', 'avg-pool', 'upsample', 'layer-norm', 'softmax', 'activation', 'add'])
        expect(kinds).toContain(kind);
      for (const l of elementwise) {
        expect(l.macs).toBe(0);
        expect(l.cycles).toBeGreaterThan(0);
        expect(l.vectorOps).toBeGreaterThan(0);
        expect(l.energyPj.vector).toBeGreaterThan(0);
      }
      expect(report.total.vectorOps).toBe(elementwise.reduce((s, l) => s + l.vectorOps!, 0));
    } else {
      expect(elementwise).toHaveLength(0);
      expect(report.total.vectorOps).toBeUndefined();
    }
    // Totals add up over every layer, element-wise ones included.
    expect(report.total.cycles).toBe(report.layers.reduce((s, l) => s + l.cycles, 0));
    expect(report.total.energyPj.total).toBeCloseTo(
      report.layers.reduce((s, l) => s + l.energyPj.total, 0),
      3,
    );
    // DeltaNet's short convolutions (m = n = 1, width 4): the channels share folds, so a layer-step
    // costs less than one fill and drain per channel (R + C − 2 each at least), the old lowering.
    if (
      report.sources[0]!.endsWith('deltanet-mqar.safetensors') &&
      report.hardware.name !== 'neuronflow-like'
    ) {
      for (const l of report.layers.filter((x) => x.op === 'depthwise')) {
        const steps = l.macs / (l.gemms * 4);
        expect(l.computeCycles).toBeLessThan(
          steps * l.gemms * (report.hardware.rows + report.hardware.cols - 2),
        );
      }
    }
  }
  // NDJSON: every element-wise layer has its layer-start, one layer-progress per step and layer-done.
  const done = lines.filter(
    (e) => e.type === 'layer-done' && (e.layer as { op: string }).op === 'elementwise',
  );
  expect(done.length).toBe(
    runs
      .filter((x) => x.sources[0]!.endsWith('iformer-mnist.safetensors'))
      .reduce((s, x) => s + x.layers.filter((l) => l.op === 'elementwise').length, 0),
  );
}, 900_000);
