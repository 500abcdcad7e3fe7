import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { ConfigError } from '../../src/config/config-error.js';
import { parseScaleSimConfig, scaleSimConfigToHardware } from '../../src/config/scalesim-cfg.js';
import { SCALESIM_DEFAULT } from '../../src/core/presets.js';

const bundled = readFileSync(new URL('../../configs/scalesim/default.cfg', import.meta.url), 'utf8');

function errorOf(text: string): ConfigError {
  try {
    parseScaleSimConfig(text, 'x.cfg');
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('parseScaleSimConfig', () => {
  test("the bundled default.cfg is SCALE-Sim's 32×32 OS with 64 kB SRAMs", () => {
    const cfg = parseScaleSimConfig(bundled, 'default.cfg');
    expect(cfg).toMatchObject({
      runName: 'scale_example_run_32x32_os',
      arrayRows: 32,
      arrayCols: 32,
      ifmapSramKb: 64,
      filterSramKb: 64,
      ofmapSramKb: 64,
      dataflow: 'os',
      bandwidths: [64],
      interfaceBandwidth: 'CALC',
    });
    // One SCALE-Sim default: SCALE-Sim's own file maps onto the scalesim-default preset exactly.
    expect(scaleSimConfigToHardware(cfg, 'default')).toEqual({
      ...SCALESIM_DEFAULT,
      name: 'scale_example_run_32x32_os',
    });
    // USER mode: the Bandwidth line becomes the DRAM bandwidth (CALC: unlimited, so absent).
    const user = parseScaleSimConfig(
      bundled.replace('InterfaceBandwidth: CALC', 'InterfaceBandwidth: USER'),
      'u.cfg',
    );
    expect(scaleSimConfigToHardware(user, 'user').dram.bandwidthBytesPerCycle).toBe(64);
    const small = scaleSimConfigToHardware(
      parseScaleSimConfig(
        '[architecture_presets]\nArrayHeight: 8\nArrayWidth: 16\nIfmapSramSzkB: 2\nDataflow: ws\n',
        's.cfg',
      ),
      's',
    );
    expect(small).toMatchObject({ name: 's', array: { rows: 8, cols: 16 }, dataflow: 'ws' });
    expect(small.sram).toEqual({ ...SCALESIM_DEFAULT.sram, ifmapBytes: 2048 });
  });

  test('= or : separators, case-insensitive keys, CRLF, comments, unknown sections and keys ignored', () => {
    const cfg = parseScaleSimConfig(
      '; comment\r\n[general]\r\nrun_name = t\r\n[architecture_presets]\r\narrayheight = 8\r\nARRAYWIDTH: 16\r\nDataflow = WS\r\nMemoryBanks: 1\r\n[sparsity]\r\nSparsitySupport : false\r\n',
      'x.cfg',
    );
    expect([cfg.arrayRows, cfg.arrayCols, cfg.dataflow, cfg.interfaceBandwidth]).toEqual([
      8,
      16,
      'ws',
      'CALC',
    ]);
  });

  test.each([
    [
      '[architecture_presets]\nArrayHeight: 32\nArrayWidth: 32\nDataflow: xs\n',
      'x.cfg: line 4, architecture_presets.Dataflow: unknown dataflow "xs" (use os, ws or is)',
    ],
    [
      '[architecture_presets]\nArrayHeight: abc\nArrayWidth: 32\nDataflow: os\n',
      'x.cfg: line 2, architecture_presets.ArrayHeight: must be an integer, got "abc"',
    ],
    [
      '[architecture_presets]\nArrayHeight: 0\nArrayWidth: 32\nDataflow: os\n',
      'x.cfg: line 2, architecture_presets.ArrayHeight: must be an integer in 1..65536, got 0',
    ],
    [
      '[architecture_presets]\nArrayHeight: 4\nDataflow: os\n',
      'x.cfg: architecture_presets.ArrayWidth: missing',
    ],
    ['ArrayHeight: 4\n', 'x.cfg: line 1: key before any [section] header'],
    [
      '[architecture_presets]\nArrayHeight: 4\nArrayWidth: 4\nDataflow: os\n[run_presets]\nInterfaceBandwidth: SOMETIMES\n',
      'x.cfg: line 6, run_presets.InterfaceBandwidth: must be USER or CALC, got "SOMETIMES"',
    ],
    [
      '[architecture_presets]\nArrayHeight: 4\nArrayWidth: 4\nDataflow: os\n[run_presets]\nInterfaceBandwidth: USER\n',
      'x.cfg: architecture_presets.Bandwidth: missing (required with InterfaceBandwidth: USER)',
    ],
  ])('error: %j', (text, message) => {
    expect(errorOf(text).message).toBe(message);
  });
});
