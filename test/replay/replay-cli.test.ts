import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/program.js';
import type { Report } from '../../src/core/report.js';
import { synthesizeTrace } from '../../src/trace/synthesize.js';
import { tensorOffset, withoutTensorCrcs } from '../trace/corrupt.js';

function fakeIo(): CliIo & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (s: string) => (out += s), isTTY: false },
    stderr: { write: (s: string) => (err += s) },
    env: {},
    cwd: new URL('../..', import.meta.url).pathname,
    out: () => out,
    err: () => err,
  };
}

const tiny = 'test/golden/traces/tiny.safetensors';

describe('deltasim replay', () => {
  it('--verify passes on the bundled DAL video trace in delta mode (real recorded deltas, near-cancelling outputs)', async () => {
    const io = fakeIo();
    const code = await runCli(
      ['replay', 'traces/delta-cnn-dal.safetensors', '--preset', 'neuronflow-like', '--verify', '--json'],
      io,
    );
    expect(io.err()).toContain('every layer matches the dense product');
    expect(code).toBe(0);
    const report = JSON.parse(io.out().trim().split('\n').pop()!) as Report;
    expect(report.layers.map((l) => l.op)).toEqual([
      'conv2d',
      'conv2d',
      'conv2d',
      'conv2d',
      'dense',
      'dense',
    ]);
    // Temporal sparsity is what this design skips: most MACs go away as zero deltas.
    expect(report.total.skippedMacs.zeroDelta).toBeGreaterThan(report.total.macs / 2);
    expect(report.total.energyPj.deltaState).toBeGreaterThan(0);
  });

  it('--json: NDJSON events, the last line is the report with skipped MACs by reason, stalls and energy by component', async () => {
    const io = fakeIo();
    const code = await runCli(
      ['replay', '--synthetic', 'small:0.5:3', '--preset', 'sparten-like', '--json'],
      io,
    );
    expect(io.err()).toBe('');
    expect(code).toBe(0);
    const lines = io.out().trim().split('\n');
    const events = lines.slice(0, -1).map((l) => JSON.parse(l) as { type: string });
    expect(events[0]?.type).toBe('run-start');
    expect(events.filter((e) => e.type === 'layer-progress')).toHaveLength(5 * 3);
    const report = JSON.parse(lines[lines.length - 1]!) as Report;
    expect(report.command).toBe('replay');
    expect(report.layers.map((l) => l.name)).toEqual(['conv', 'dw', 'fc', 'qk', 'av']);
    const t = report.total;
    expect(
      t.executedMacs +
        t.skippedMacs.zeroActivation +
        t.skippedMacs.zeroWeight +
        t.skippedMacs.zeroDelta +
        t.skippedMacs.structural,
    ).toBe(t.macs);
    expect(t.skippedMacs.structural).toBeGreaterThan(0);
    expect(typeof t.stallCycles).toBe('number');
    expect(t.energyPj.total).toBeGreaterThan(0);
    expect(t.energyPj.mac).toBeGreaterThan(0);
    expect(t.energyPj.metadata).toBeGreaterThan(0);
  });

  it('--verify passes on a trace of every lowering kind, dense and delta mode, several presets; plain shows a comparison', async () => {
    const io = fakeIo();
    const code = await runCli(
      [
        'replay',
        tiny,
        '--synthetic',
        'small:0.4:3',
        '--preset',
        'sparten-like',
        '--preset',
        'eyeriss-like',
        '--preset',
        'neuronflow-like',
        '--verify',
        '--ui',
        'plain',
      ],
      io,
    );
    expect(io.err()).toContain('every layer matches the dense product (6 runs)');
    expect(code).toBe(0);
    expect(io.out()).toContain('side by side');
    expect(io.out()).toContain('skip Δ');
    expect(io.out()).toMatch(/deltaState/);
  });

  it('--delta with delta hardware skips zero deltas; --no-delta replays each step on its own', async () => {
    const run = async (flag: string) => {
      const io = fakeIo();
      expect(await runCli(['replay', tiny, '--preset', 'neuronflow-like', flag, '--json'], io)).toBe(0);
      const lines = io.out().trim().split('\n');
      return JSON.parse(lines[lines.length - 1]!) as Report;
    };
    const delta = await run('--delta');
    const plain = await run('--no-delta');
    expect(delta.total.skippedMacs.zeroDelta).toBeGreaterThan(0);
    expect(delta.total.energyPj.deltaState).toBeGreaterThan(0);
    expect(plain.total.skippedMacs.zeroDelta).toBe(0);
    expect(plain.total.energyPj.deltaState).toBeUndefined();
  });

  it('a hardware file with --array/--dataflow overrides', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'deltasim-replay-'));
    const hw = join(dir, 'mine.yaml');
    writeFileSync(hw, 'preset: sparten-like\ngranularity: vector\n');
    const io = fakeIo();
    expect(
      await runCli(['replay', tiny, '--hw', hw, '--array', '8x4', '--dataflow', 'ws', '--json'], io),
    ).toBe(0);
    const lines = io.out().trim().split('\n');
    const report = JSON.parse(lines[lines.length - 1]!) as Report;
    expect(report.hardware).toMatchObject({ name: 'mine', rows: 8, cols: 4, dataflow: 'ws' });
  });

  for (const [argv, names] of [
    [['replay', tiny, '--preset', 'nope'], '--preset'],
    [['replay', tiny, '--array', '0x4'], '--array'],
    [['replay', tiny, '--dataflow', 'rs'], '--dataflow'],
    [['replay', 'missing.safetensors'], 'missing.safetensors'],
    [['replay', '--synthetic', 'alexnet:0.5'], '--synthetic'],
    [['replay', tiny, '--hw', 'nowhere.yaml'], 'nowhere.yaml'],
    [['replay'], 'replay'],
  ] as const) {
    it(`bad input ${argv.slice(1).join(' ')} → exit 2, one line naming ${names}`, async () => {
      const io = fakeIo();
      expect(await runCli([...argv], io)).toBe(2);
      const lines = io.err().trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(names);
      expect(io.out()).toBe('');
    });
  }

  it('lossy storage (I8, F16) passes --verify against its own precision; a Δ that does not add up fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'deltasim-replay-'));
    for (const dtype of ['F32', 'F16', 'I8'] as const) {
      const path = join(dir, `${dtype}.safetensors`);
      await synthesizeTrace(path, { shape: 'small', density: 0.6, steps: 3, seed: 3, dtype });
      const io = fakeIo();
      expect(await runCli(['replay', path, '--delta', '--verify', '--json'], io), dtype).toBe(0);
    }
    // One stored Δ element set to 0 (mask updated, so the trace stays valid): Σ Δ ≠ q beyond rounding.
    const lossy = new Uint8Array(readFileSync(join(dir, 'I8.safetensors')));
    const name = 'S1/fc/delta';
    const at = tensorOffset(lossy, name);
    const bytes = new Int8Array(lossy.buffer, at, 32);
    let element = 0;
    for (let i = 1; i < 32; i++) if (Math.abs(bytes[i]!) > Math.abs(bytes[element]!)) element = i;
    expect(bytes[element]).not.toBe(0);
    bytes[element] = 0;
    lossy[tensorOffset(lossy, `${name}#mask`) + (element >>> 3)]! &= ~(1 << (element & 7));
    const path = join(dir, 'dropped.safetensors');
    writeFileSync(path, withoutTensorCrcs(lossy));
    expect(await runCli(['trace', 'validate', path], fakeIo())).toBe(0);
    const io = fakeIo();
    expect(await runCli(['replay', path, '--delta', '--verify', '--json'], io)).toBe(1);
    expect(io.err()).toMatch(/verify: .* layer fc step 1: \d+ outputs differ/);
  });
});
