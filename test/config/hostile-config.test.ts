import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { CONFIG_MAX_ALIASES, CONFIG_MAX_DEPTH } from '../../src/config/config-document.js';
import { ConfigError } from '../../src/config/config-error.js';
import { loadEnergyTableFile } from '../../src/config/energy-table-file.js';
import { loadHardwareFile } from '../../src/config/hardware-file.js';
import { PHYSICAL_RANGES } from '../../src/config/physical-ranges.js';
import { CONFIG_FILE_MAX_BYTES } from '../../src/config/read-text.js';
import { loadScaleSimConfig } from '../../src/config/scalesim-cfg.js';
import { loadTopology } from '../../src/config/topology.js';

/** Hostile configuration files: each is a one-line ConfigError naming the file (and field), never a crash. */
const dir = mkdtempSync(join(tmpdir(), 'deltasim-hostile-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function errorOf(promise: Promise<unknown>): Promise<ConfigError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).not.toContain('\n');
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

const ENERGY_TABLE =
  'mac: { int8: 0.3 pJ, fp16: 1.5 pJ, fp32: 4.6 pJ }\nregister: 0.14 pJ\nsram: [{ size: 8 KiB, access64: 10 pJ }]\ndram: 20 pJ/bit\nmetadata: 0.1 pJ/bit\n';

describe('YAML structure bounds', () => {
  test('an alias bomb is refused by its alias count, not expanded', async () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(', ')}]`);
    }
    const path = file('bomb.yaml', `${levels.join('\n')}\n`);
    const error = await errorOf(loadHardwareFile(path));
    expect(error.message).toBe(
      `${path}: aliases expand too far (more than ${CONFIG_MAX_ALIASES} alias resolutions; an alias bomb?)`,
    );
  });

  test('flow collections nested 20,000 deep stop at the nesting scan, before the parser recurses', async () => {
    const path = file('deep-flow.yaml', `array: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`);
    expect((await errorOf(loadHardwareFile(path))).message).toBe(
      `${path}: line 1: nested more than ${CONFIG_MAX_DEPTH} levels deep`,
    );
  });

  test('compact block sequences (- - - …) nested deep on one line are bounded too', async () => {
    const path = file('deep-block.yaml', `${'- '.repeat(5_000)}x\n`);
    expect((await errorOf(loadHardwareFile(path))).message).toMatch(/line 1: nested more than/);
  });

  test('a document just past the depth limit is refused by the exact check, naming the path', async () => {
    const deep = `${'{ a: '.repeat(CONFIG_MAX_DEPTH)}1${' }'.repeat(CONFIG_MAX_DEPTH)}`;
    const path = file('just-deep.yaml', `energy: ${deep}\n`);
    expect((await errorOf(loadHardwareFile(path))).message).toBe(
      `${path}: energy${'.a'.repeat(CONFIG_MAX_DEPTH - 1)}: nested more than ${CONFIG_MAX_DEPTH} levels deep`,
    );
  });

  test('quotes and comments holding brackets do not count as nesting', async () => {
    const brackets = '['.repeat(500);
    const path = file(
      'brackets-in-text.yaml',
      `name: "${brackets}" # ${brackets}\narray: { rows: 4, cols: 4 }\n`,
    );
    expect((await loadHardwareFile(path)).name).toBe(brackets);
  });
});

describe('JSON structure bounds', () => {
  test('a JSON hardware file nested 100,000 deep is one line, not a stack overflow', async () => {
    const path = file('deep.json', `{"array": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
    expect((await errorOf(loadHardwareFile(path))).message).toBe(
      `${path}: array${'[0]'.repeat(CONFIG_MAX_DEPTH - 1)}: nested more than ${CONFIG_MAX_DEPTH} levels deep`,
    );
  });

  test.each([
    ['{"array": {"rows": 4, "cols": 4, "rows": 8}}', 'array.rows'],
    ['{"clock": "1 GHz", "\\u0063lock": "2 GHz", "array": {"rows": 4, "cols": 4}}', 'clock'],
    ['{"energy": {"sram": [{"size": "8 KiB", "size": "9 KiB"}]}}', 'energy.sram[0].size'],
  ])('duplicate keys are refused, naming the key: %s', async (text, key) => {
    const path = file('dup.json', text);
    expect((await errorOf(loadHardwareFile(path))).message).toBe(`${path}: ${key}: duplicate key`);
  });

  test('the same key in different objects, and keys inside strings, are not duplicates', async () => {
    const path = file(
      'not-dup.json',
      '{"name": "{\\"rows\\": 1, \\"rows\\": 2}", "array": {"rows": 4, "cols": 4}, "sram": {"ifmap": "1 KiB"}, "bandwidth": {"dram": "1 B/cycle"}}',
    );
    expect((await loadHardwareFile(path)).array).toEqual({ rows: 4, cols: 4 });
  });

  test('a JSON syntax error is one line even though V8 quotes the multi-line text around it', async () => {
    const path = file('broken.json', '{\n "name": "x",\n "array"\n "rows": 4\n}\n');
    const message = (await errorOf(loadHardwareFile(path))).message;
    expect(message.startsWith(`${path}: not valid JSON (`)).toBe(true);
  });

  test('a duplicate key in a JSON energy table is refused too', async () => {
    const path = file('dup-energy.json', '{"register": "1 pJ", "register": "2 pJ"}');
    expect((await errorOf(loadEnergyTableFile(path))).message).toBe(`${path}: register: duplicate key`);
  });
});

describe('units and physical ranges', () => {
  const hw = (body: string): string => file('range.yaml', `array: { rows: 4, cols: 4 }\n${body}\n`);

  test.each([
    ['clock: "5"', 'clock: "5" has no unit (write it with one, e.g. "1 GHz")'],
    ['clock: 5', 'clock: 5 has no unit (write it with one, e.g. "1 GHz")'],
    ['sram: { ifmap: 65536 }', 'sram.ifmap: 65536 has no unit (write it with one, e.g. "64 KiB")'],
    [
      'clock: 1e-300 Hz',
      `clock: "1e-300 Hz": 1e-300 Hz is outside the physical range ${PHYSICAL_RANGES.clock.text}`,
    ],
    [
      'clock: 1 THz',
      `clock: "1 THz": 1000000000000 Hz is outside the physical range ${PHYSICAL_RANGES.clock.text}`,
    ],
    [
      'bandwidth: { dram: 1e-300 B/cycle }',
      `bandwidth.dram: "1e-300 B/cycle": 1e-300 B/cycle is outside the physical range ${PHYSICAL_RANGES.bandwidth.text}`,
    ],
    [
      'sram: { ofmap: 2 TiB }',
      `sram.ofmap: "2 TiB": 2199023255552 B is outside the physical range ${PHYSICAL_RANGES.size.text}`,
    ],
    [
      'leakage: 1 MW',
      `leakage: "1 MW": 1000000000 mW is outside the physical range ${PHYSICAL_RANGES.leakage.text}`,
    ],
    ['array: { rows: 70000, cols: 4 }', 'array.rows: must be at most 65536, got 70000'],
  ])('%s', async (body, rule) => {
    const path = body.startsWith('array:') ? file('array.yaml', `${body}\n`) : hw(body);
    expect((await errorOf(loadHardwareFile(path))).message).toBe(`${path}: ${rule}`);
  });

  test('the sparse fields and the energy table are ranged by the same table', async () => {
    const state = hw('stateMemory: { size: 4 MiB, bandwidth: 0 B/cycle }');
    expect((await errorOf(loadHardwareFile(state))).message).toBe(
      `${state}: stateMemory.bandwidth: "0 B/cycle": 0 B/cycle is outside the physical range ${PHYSICAL_RANGES.bandwidth.text}`,
    );
    const table = file('big-mac.yaml', ENERGY_TABLE.replace('int8: 0.3 pJ', 'int8: 1 J'));
    expect((await errorOf(loadEnergyTableFile(table))).message).toBe(
      `${table}: mac.int8: "1 J": 1000000000000 pJ is outside the physical range ${PHYSICAL_RANGES.energy.text}`,
    );
    const point = file('tiny-sram.yaml', ENERGY_TABLE.replace('size: 8 KiB', 'size: 1 bit'));
    expect((await errorOf(loadEnergyTableFile(point))).message).toBe(
      `${point}: sram[0].size: "1 bit": 0.125 B is outside the physical range ${PHYSICAL_RANGES.size.text}`,
    );
    expect((await loadEnergyTableFile(file('ok-table.yaml', ENERGY_TABLE))).registerAccessPj).toBe(0.14);
  });

  test('docs/configuration.md lists the ranges the code checks, row for row', () => {
    const docs = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    for (const [name, range] of Object.entries(PHYSICAL_RANGES)) {
      const fields = range.fields.replaceAll('*', '\\*');
      expect(docs, name).toContain(`| ${name} | ${range.text} | ${fields} |`);
    }
  });

  test('SCALE-Sim .cfg sizes and bandwidths are ranged too', async () => {
    const cfg = file(
      'big.cfg',
      '[architecture_presets]\nArrayHeight: 8\nArrayWidth: 8\nIfmapSramSzkB: 2147483648\nDataflow: os\n',
    );
    expect((await errorOf(loadScaleSimConfig(cfg))).message).toBe(
      `${cfg}: line 4, architecture_presets.IfmapSramSzkB: must be an integer in 1..1073741824, got 2147483648`,
    );
  });
});

describe('only regular files are read', () => {
  const fifo = join(dir, 'pipe.yaml');
  execFileSync('mkfifo', [fifo]);

  test.each([
    ['hardware file', () => loadHardwareFile(fifo)],
    ['energy table', () => loadEnergyTableFile(fifo)],
    ['SCALE-Sim .cfg', () => loadScaleSimConfig(fifo)],
  ])('a FIFO as the %s is refused at once, without waiting for a writer', async (_what, load) => {
    expect((await errorOf(load())).message).toBe(`${fifo}: not a regular file (a FIFO, device or socket)`);
  });

  test('a FIFO as the topology is refused too', async () => {
    await expect(loadTopology(fifo, 'conv')).rejects.toThrow(
      `${fifo}: not a regular file (a FIFO, device or socket)`,
    );
  });

  test('a device and a directory are refused', async () => {
    expect((await errorOf(loadHardwareFile('/dev/zero'))).message).toBe(
      '/dev/zero: not a regular file (a FIFO, device or socket)',
    );
    expect((await errorOf(loadHardwareFile(dir))).message).toBe(`${dir}: is a directory, not a file`);
  });

  test(`a config file over ${CONFIG_FILE_MAX_BYTES} bytes is refused before it is read`, async () => {
    const path = file('huge.yaml', `# ${'x'.repeat(CONFIG_FILE_MAX_BYTES)}\n`);
    expect((await errorOf(loadHardwareFile(path))).message).toBe(
      `${path}: file too large: ${CONFIG_FILE_MAX_BYTES + 3} bytes, a config file may hold at most ${CONFIG_FILE_MAX_BYTES}`,
    );
  });
});
