import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { ConfigError } from '../../src/config/config-error.js';
import { loadEnergyTableFile } from '../../src/config/energy-table-file.js';
import { loadHardware, loadHardwareFile } from '../../src/config/hardware-file.js';
import { HOROWITZ_45NM } from '../../src/core/energy-table.js';
import { PRESETS, SCALESIM_DEFAULT, TPU_V1_LIKE } from '../../src/core/presets.js';

const configs = new URL('../../configs/', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'deltasim-hw-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function errorOf(text: string, name = 'hw.yaml'): Promise<ConfigError> {
  const path = write(name, text);
  const error = await loadHardwareFile(path, name).catch((e: unknown) => e);
  if (error instanceof ConfigError) return error;
  throw new Error(`expected a ConfigError, got ${String(error)}`);
}

describe('the one hardware file', () => {
  for (const name of Object.keys(PRESETS)) {
    test(`configs/hw/${name}.yaml equals the ${name} preset`, async () => {
      expect(await loadHardwareFile(join(configs, 'hw', `${name}.yaml`))).toEqual(PRESETS[name]);
    });
  }

  test("SCALE-Sim's default.cfg and scalesim-default.yaml are the same hardware", async () => {
    const cfg = await loadHardware(join(configs, 'scalesim', 'default.cfg'));
    const yaml = await loadHardware(join(configs, 'hw', 'scalesim-default.yaml'));
    expect({ ...cfg, name: yaml.name }).toEqual(yaml);
  });

  test('the energy table file equals the built-in Horowitz table', async () => {
    expect(await loadEnergyTableFile(join(configs, 'energy', 'horowitz-45nm.yaml'))).toEqual(HOROWITZ_45NM);
  });

  test('a dense-only file is scalesim-default with its fields, sparsity support off', async () => {
    const hw = await loadHardwareFile(
      write(
        'edge.yaml',
        'array: { rows: 8, cols: 16 }\nclock: 1.2 GHz\nleakage: 5 mW\nsram: { ifmap: 1 MiB }\n',
      ),
    );
    expect(hw).toEqual({
      ...SCALESIM_DEFAULT,
      name: 'edge',
      array: { rows: 8, cols: 16 },
      clockHz: 1.2e9,
      leakageMw: 5,
      sram: { ...SCALESIM_DEFAULT.sram, ifmapBytes: 1048576 },
    });
  });

  test('JSON works too', async () => {
    const hw = await loadHardwareFile(
      write(
        'hw.json',
        '{"array": {"rows": 4, "cols": 4}, "dataflow": "is", "bandwidth": {"dram": "8 B/cycle"}}',
      ),
    );
    expect([hw.dataflow, hw.dram.bandwidthBytesPerCycle]).toEqual(['is', 8]);
  });

  test('a preset plus overrides', async () => {
    const hw = await loadHardwareFile(
      write(
        'mine.yaml',
        'preset: sparten-like\ngranularity: vector\nlookahead: unbounded\nbandwidth: { dram: unlimited }\neventDispatch: 0.5\n',
      ),
    );
    expect(hw.name).toBe('mine');
    expect(hw.granularity).toBe('vector');
    expect(hw.lookaheadSteps).toBe(Number.POSITIVE_INFINITY);
    expect(hw.dram.bandwidthBytesPerCycle).toBe(Number.POSITIVE_INFINITY);
    expect(hw.eventDispatchCycles).toBe(0.5);
    expect(hw.support.weights).toBe('skip');
  });

  test('one leakage rule: the `leakage` key, else the named energy table, else the preset', async () => {
    const table = write(
      'leaky.yaml',
      'mac: { int8: 1 pJ, fp16: 1 pJ, fp32: 1 pJ }\nregister: 1 pJ\nsram: [{ size: 1 KiB, access64: 1 pJ }]\ndram: 1 pJ/bit\nmetadata: 0 pJ/bit\nleakage: 7 mW\n',
    );
    const preset = await loadHardwareFile(write('a.yaml', 'preset: tpu-v1-like\n'));
    const fromTable = await loadHardwareFile(write('b.yaml', `preset: tpu-v1-like\nenergy: ${table}\n`));
    const fromKey = await loadHardwareFile(
      write('c.yaml', `preset: tpu-v1-like\nenergy: ${table}\nleakage: 2 mW\n`),
    );
    expect([preset.leakageMw, fromTable.leakageMw, fromKey.leakageMw]).toEqual([TPU_V1_LIKE.leakageMw, 7, 2]);
  });

  test.each([
    [
      'array: { rows: 4, cols: 4 }\nsram: { ifmap: 64 KiB, l2: 1 MiB }\n',
      'hw.yaml: sram.l2: unknown key (known: ifmap, filter, ofmap)',
    ],
    ['array: { rows: 4, cols: 4 }\nspeed: fast\n', 'hw.yaml: speed: unknown key'],
    ['array: { rows: 0, cols: 4 }\n', 'hw.yaml: array.rows: must be a positive integer, got 0'],
    ['array: { rows: 4 }\n', 'hw.yaml: array.cols: missing (PE columns (ArrayWidth))'],
    ['array: { rows: 4, cols: 4 }\ndataflow: xs\n', 'hw.yaml: dataflow: must be one of os, ws, is, got "xs"'],
    ['array: { rows: 4, cols: 4 }\nclock: 64 KiB\n', 'hw.yaml: clock: "64 KiB" has the wrong dimension'],
    [
      'array: { rows: 4, cols: 4 }\nclock: -1 GHz\n',
      'hw.yaml: clock: "-1 GHz": -1000000000 Hz is outside the physical range 1 kHz to 100 GHz',
    ],
    ['array: [4, 4]\n', 'hw.yaml: array: must be a mapping'],
    ['array: { rows: 4, cols: 4\n', 'hw.yaml: line'],
    ['support: { activations: maybe }\n', 'hw.yaml: support.activations: must be one of none, gate, skip'],
    ['lookahead: 0\n', 'hw.yaml: lookahead: must be a positive integer or "unbounded", got 0'],
    ['formats: { outputs: dense }\n', 'hw.yaml: formats.outputs: unknown key'],
    ['granularity: bit\n', 'hw.yaml: granularity: must be one of element, vector, fold'],
    ['deltaMode: yes please\n', 'hw.yaml: deltaMode: must be true or false, got "yes please"'],
    ['eventDispatch: -1\n', 'hw.yaml: eventDispatch: must be a number of cycles ≥ 0, got -1'],
    ['stateMemory: { size: 5 pJ }\n', 'hw.yaml: stateMemory.size: "5 pJ" has the wrong dimension'],
    ['energy: 5\n', 'hw.yaml: energy: must be a table file path or an inline table'],
    ['energy: { mac: { int8: 1 pJ } }\n', 'hw.yaml (energy): mac.fp16: missing'],
    ['energy: no-such-table.yaml\n', 'hw.yaml (energy: no-such-table.yaml): file not found'],
  ])('error: %j', async (text, start) => {
    const error = await errorOf(text);
    expect(error.message).not.toContain('\n');
    expect(error.message.startsWith(start), error.message).toBe(true);
  });

  test('a missing file is one ConfigError naming it; an unknown extension too', async () => {
    await expect(loadHardwareFile('/nonexistent/hw.yaml')).rejects.toThrow(
      '/nonexistent/hw.yaml: file not found',
    );
    await expect(loadHardware(write('hw.txt', ''), 'hw.txt')).rejects.toThrow(
      'hw.txt: unknown config type (expected .cfg, .yaml, .yml or .json)',
    );
  });
});
