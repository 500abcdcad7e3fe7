import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import type { LayerReport, Report } from '../../src/core/report.js';
import { lastJsonLine, runBuiltCli } from './built-cli.js';

/**
 * One hardware description: `simulate --config F` and `replay --hw F` read the same file into the
 * same model, so a layer both can run — the bundled tiny trace's `fc3` (dense, GEMM 1×5×36) and the
 * GEMM topology row `fc3,1,5,36` — costs the same dense cycles per step, stalls included. The trace
 * has 4 steps; the small filter buffer keeps the weights from staying resident, so every step pays
 * the same traffic and replay's dense baseline is exactly 4 × simulate's layer.
 */
const dir = mkdtempSync(join(tmpdir(), 'deltasim-agree-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const tiny = 'test/golden/traces/tiny.safetensors';
const STEPS = 4;

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function layerOf(args: readonly string[], name: string): Promise<LayerReport> {
  const result = await runBuiltCli([...args, '--json']);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  const layer = (lastJsonLine(result.stdout) as Report).layers.find((l) => l.name === name);
  if (!layer) throw new Error(`no layer ${name}`);
  return layer;
}

describe('simulate and replay agree on a layer for the same hardware file', () => {
  const topology = file('fc3.csv', 'Layer,M,N,K\nfc3,1,5,36\n');
  const memoryBound = file(
    'narrow.yaml',
    'array: { rows: 4, cols: 4 }\ndataflow: ws\nprecision: fp32\nsram: { filter: 64 B }\nbandwidth: { sram: 8 B/cycle, dram: 2 B/cycle }\n',
  );
  test.each([
    ['a memory-bound YAML file', memoryBound],
    ["SCALE-Sim's default.cfg", 'configs/scalesim/default.cfg'],
    ['a sparse preset file (simulate runs it with sparsity support off)', 'configs/hw/sparten-like.yaml'],
  ])('%s', async (_what, hw) => {
    const simulated = await layerOf(['simulate', '--gemm', '--topology', topology, '--config', hw], 'fc3');
    const replayed = await layerOf(['replay', tiny, '--hw', hw, '--no-delta'], 'fc3');
    expect(replayed.baselineCycles).toBe(STEPS * simulated.cycles);
    expect(replayed.baselineComputeCycles).toBe(STEPS * simulated.computeCycles);
    expect(replayed.macs).toBe(STEPS * simulated.macs);
    if (hw === memoryBound) expect(simulated.stallCycles).toBeGreaterThan(0);
  });
});
