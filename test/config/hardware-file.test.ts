import { describe, expect, test } from 'vitest';
import { parseConfigDocument } from '../../src/config/config-document.js';
import { ConfigError } from '../../src/config/config-error.js';
import {
  DENSE_HARDWARE_FIELDS,
  denseHardwareFrom,
  loadHardwareFile,
  readFields,
} from '../../src/config/hardware-file.js';

const bundled = new URL('../../configs/hw/scalesim-default.yaml', import.meta.url).pathname;

async function load(text: string, source = 'hw.yaml') {
  const values = await readFields(await parseConfigDocument(text, source), DENSE_HARDWARE_FIELDS, source);
  return denseHardwareFrom(values, 'hw');
}

async function errorOf(text: string, source = 'hw.yaml'): Promise<ConfigError> {
  try {
    await load(text, source);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('hardware file', () => {
  test("the bundled scalesim-default.yaml equals SCALE-Sim's default", async () => {
    expect(await loadHardwareFile(bundled)).toEqual({
      name: 'scalesim-default',
      array: { rows: 32, cols: 32 },
      dataflow: 'os',
      precision: 'int8',
      sramBytes: { ifmap: 65536, filter: 65536, ofmap: 65536 },
      dramBytesPerCycle: 64,
    });
  });

  test('units become plain numbers; defaults fill dataflow, precision and name', async () => {
    expect(await load('array: { rows: 8, cols: 16 }\nclock: 1.2 GHz\nleakage: 5 mW\n')).toEqual({
      name: 'hw',
      array: { rows: 8, cols: 16 },
      dataflow: 'os',
      precision: 'int8',
      clockHz: 1.2e9,
      leakageMw: 5,
    });
  });

  test('JSON works too', async () => {
    const hw = await load(
      '{"array": {"rows": 4, "cols": 4}, "dataflow": "is", "sram": {"ifmap": "1 MiB"}}',
      'hw.json',
    );
    expect(hw.dataflow).toBe('is');
    expect(hw.sramBytes?.ifmap).toBe(1048576);
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
  ])('error: %j', async (text, start) => {
    expect((await errorOf(text)).message.startsWith(start)).toBe(true);
  });

  test('a missing file is one ConfigError naming it', async () => {
    await expect(loadHardwareFile('/nonexistent/hw.yaml')).rejects.toThrow(
      '/nonexistent/hw.yaml: file not found',
    );
  });
});
