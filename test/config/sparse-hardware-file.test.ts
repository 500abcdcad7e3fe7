import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config-error.js';
import { loadEnergyTableFile } from '../../src/config/energy-table-file.js';
import { hardwareFromDense, loadSparseHardwareFile } from '../../src/config/sparse-hardware-file.js';
import { HOROWITZ_45NM } from '../../src/core/energy-table.js';
import { PRESETS } from '../../src/core/presets.js';

const configs = new URL('../../configs/', import.meta.url).pathname;

describe('hardware files', () => {
  for (const name of ['eyeriss-like', 'tpu-v1-like', 'sparten-like', 'neuronflow-like']) {
    it(`configs/hw/${name}.yaml equals the ${name} preset`, async () => {
      const hw = await loadSparseHardwareFile(join(configs, 'hw', `${name}.yaml`));
      expect(hw).toEqual(PRESETS[name]);
    });
  }

  it('the energy table file equals the built-in Horowitz table', async () => {
    expect(await loadEnergyTableFile(join(configs, 'energy', 'horowitz-45nm.yaml'))).toEqual(HOROWITZ_45NM);
  });

  it("engineer 1's dense scalesim-default.yaml loads with the sparse fields defaulted", async () => {
    const hw = await loadSparseHardwareFile(join(configs, 'hw', 'scalesim-default.yaml'));
    expect(hw.array).toEqual({ rows: 32, cols: 32 });
    expect(hw.support).toEqual({ activations: 'none', weights: 'none', deltas: 'none' });
  });

  it('a dense hardware description becomes a model with no sparsity support', () => {
    const hw = hardwareFromDense({
      name: 'd',
      array: { rows: 8, cols: 16 },
      dataflow: 'ws',
      precision: 'fp16',
      sramBytes: { ifmap: 1024, filter: 2048, ofmap: 4096 },
      dramBytesPerCycle: 10,
    });
    expect(hw).toMatchObject({ name: 'd', array: { rows: 8, cols: 16 }, dataflow: 'ws', precision: 'fp16' });
    expect(hw.sram).toMatchObject({ ifmapBytes: 1024, filterBytes: 2048, ofmapBytes: 4096 });
    expect(hw.dram.bandwidthBytesPerCycle).toBe(10);
    expect(hw.support).toEqual({ activations: 'none', weights: 'none', deltas: 'none' });
  });

  const dir = mkdtempSync(join(tmpdir(), 'deltasim-hw-'));
  const write = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('a preset plus overrides', async () => {
    const hw = await loadSparseHardwareFile(
      write(
        'mine.yaml',
        'preset: sparten-like\ngranularity: vector\nlookahead: unbounded\nbandwidth: { dram: unlimited }\n',
      ),
    );
    expect(hw.name).toBe('mine');
    expect(hw.granularity).toBe('vector');
    expect(hw.lookaheadSteps).toBe(Number.POSITIVE_INFINITY);
    expect(hw.dram.bandwidthBytesPerCycle).toBe(Number.POSITIVE_INFINITY);
    expect(hw.support.weights).toBe('skip');
  });

  for (const [text, where] of [
    ['support: { activations: maybe }\n', 'support.activations'],
    ['lookahead: 0\n', 'lookahead'],
    ['formats: { outputs: dense }\n', 'formats.outputs'],
    ['granularity: bit\n', 'granularity'],
    ['deltaMode: yes please\n', 'deltaMode'],
    ['stateMemory: { size: 5 pJ }\n', 'stateMemory.size'],
    ['energy: { mac: { int8: 1 pJ } }\n', 'mac.fp16'],
    ['energy: no-such-table.yaml\n', 'energy: no-such-table.yaml'],
  ] as const) {
    it(`rejects ${JSON.stringify(text.trim())} naming ${where}`, async () => {
      const path = write('bad.yaml', text);
      const error = await loadSparseHardwareFile(path).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).toLine()).toContain(where);
      expect((error as ConfigError).toLine()).toContain('bad.yaml');
    });
  }
});
