/**
 * The worked examples of docs/model.md, read from the page itself: the numbers a reader sees are the
 * numbers asserted here, so the page and the model cannot drift apart silently. A changed formula
 * fails here until its example is updated in the same commit.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSimulate } from '../../src/cli/commands/simulate.js';
import { createFoldSequence } from '../../src/core/fold-overlap.js';
import { levelCycles, slowestLevel } from '../../src/core/levels.js';
import type { Report } from '../../src/core/report.js';
import { REPO_ROOT } from '../repo-files.js';

const MODEL = readFileSync(join(REPO_ROOT, 'docs/model.md'), 'utf8').replace(/\s+/g, ' ');

/** The page's numbers matched by `pattern` (commas in figures dropped). */
function example(pattern: RegExp): number[] {
  const m = pattern.exec(MODEL);
  if (!m) throw new Error(`docs/model.md no longer has the example ${pattern}`);
  return m.slice(1).map((s) => Number(s.replace(/,/g, '')));
}

async function simulateJson(args: string[]): Promise<Report> {
  let out = '';
  const io = {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: () => {} },
    env: {},
    cwd: REPO_ROOT,
  };
  const [topology, config] = args;
  const code = await runSimulate(
    { topology: topology!, ...(config ? { config } : {}), json: true, ui: 'plain' },
    io,
  );
  expect(code).toBe(0);
  const lines = out.trimEnd().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as Report;
}

describe('docs/model.md examples', () => {
  it('ResNet-18 on 32×32 OS: Σ cycles over its layers, and SCALE-Sim’s total', async () => {
    const [cycles, layers, scalesim] = example(
      /the bundled ResNet-18 on 32×32 OS gives Σ cycles = ([\d,]+) over (\d+) layers, SCALE-Sim's ([\d,]+)/,
    );
    const report = await simulateJson(['configs/topologies/resnet18.csv']);
    expect(report.layers.length).toBe(layers);
    expect(report.total.cycles).toBe(cycles);
    expect(report.total.cycles - report.layers.length).toBe(scalesim);
  });

  it('energy (dense) of ResNet-18 conv1 on SCALE-Sim’s defaults, by component, to the page’s 0.01 µJ', async () => {
    const [mac, register, sram, dram, total, perMac] = example(
      /conv1 of the bundled ResNet-18 on SCALE-Sim's defaults costs ([\d.]+) µJ of MACs, ([\d.]+) µJ of register accesses, ([\d.]+) µJ of SRAM and ([\d.]+) µJ of DRAM traffic: ([\d.]+) µJ, ([\d.]+) pJ per MAC/,
    );
    const report = await simulateJson(['configs/topologies/resnet18.csv', 'configs/scalesim/default.cfg']);
    const conv1 = report.layers[0]!;
    expect(conv1.name).toBe('conv1');
    const uJ = (pj: number | undefined) => Math.round((pj ?? Number.NaN) / 1e4) / 100;
    expect(uJ(conv1.energyPj.mac)).toBe(mac);
    expect(uJ(conv1.energyPj.register)).toBe(register);
    expect(uJ(conv1.energyPj.sram)).toBe(sram);
    expect(uJ(conv1.energyPj.dram)).toBe(dram);
    expect(uJ(conv1.energyPj.total)).toBe(total);
    expect(Math.round((conv1.energyPj.total / conv1.macs) * 100) / 100).toBe(perMac);
    // mac = MACs · macPj[int8] exactly (0.3 pJ), register = MACs · 3 · 0.14 pJ.
    expect(conv1.energyPj.mac).toBeCloseTo(conv1.macs * 0.3, 3);
    expect(conv1.energyPj.register).toBeCloseTo(conv1.macs * 3 * 0.14, 3);
  });

  it('levels: bytes at a bandwidth need their cycles; the slowest level bounds the step', () => {
    const [bytes, bandwidth, cycles, compute, step] = example(
      /(\d+) B at (\d+) B\/cycle need (\d+) cycles; with (\d+) compute cycles the step takes (\d+), bound `dram`/,
    );
    const dram = {
      name: 'dram' as const,
      capacityBytes: Number.POSITIVE_INFINITY,
      bandwidthBytesPerCycle: bandwidth!,
      readBits: bytes! * 8,
      writeBits: 0,
      metadataBits: 0,
    };
    expect(levelCycles(dram)).toBe(cycles);
    expect(slowestLevel(compute!, [dram])).toEqual({ cycles: step, bound: 'dram' });
  });

  it('fold overlap: WS 32×32, three folds of T = 10, none / preload / pipelined', () => {
    const [none, preload, pipelined] = example(
      /none 3 · 104 = (\d+), preload 32 \+ 3 · 72 = (\d+), pipelined 32 \+ 2 · 32 \+ 10 \+ 62 = (\d+)/,
    );
    const run = (overlap: 'none' | 'preload' | 'pipelined') => {
      const seq = createFoldSequence({ rows: 32, cols: 32 }, 'ws', overlap);
      seq.add(10, 3);
      return seq.cycles();
    };
    expect([run('none'), run('preload'), run('pipelined')]).toEqual([none, preload, pipelined]);
  });
});
