import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runLive, simulateRunConfig } from '../../src/cli/commands/simulate.js';
import type { CliIo } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/program.js';
import { pythonFloatRepr, scaleSimLayers } from '../../src/cli/reporters/scalesim-report.js';
import { simulateDense } from '../../src/core/dense-engine.js';
import type { RunEvent } from '../../src/core/events.js';
import { lowerTopology } from '../../src/core/lowering.js';
import { SCALESIM_DEFAULT } from '../../src/core/presets.js';
import type { Report } from '../../src/core/report.js';
import { lastJsonLine, runBuiltCli } from './built-cli.js';

const root = new URL('../../', import.meta.url).pathname;

function fakeIo(cwd = root): CliIo & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    env: {},
    cwd,
    out: () => out,
    err: () => err,
  };
}

async function run(argv: string[], cwd = root) {
  const io = fakeIo(cwd);
  const code = await runCli(['simulate', ...argv], io);
  return { code, stdout: io.out(), stderr: io.err() };
}

const RESNET = ['--topology', 'configs/topologies/resnet18.csv'];

/** SCALE-Sim's ResNet-18 figures (test/golden/scalesim-parity.json); our cycles are its Total Cycles + 1 per layer. */
const RESNET_GOLDEN = (() => {
  const golden = JSON.parse(readFileSync(join(root, 'test/golden/scalesim-parity.json'), 'utf8')) as {
    cases: { file?: string; layerCount?: number; totalMacs?: number; scalesimTotalCyclesSum?: number }[];
  };
  const c = golden.cases.find((x) => x.file === RESNET[1]);
  if (!c?.layerCount || !c.totalMacs || !c.scalesimTotalCyclesSum)
    throw new Error(`no ResNet-18 case in scalesim-parity.json`);
  return { layers: c.layerCount, macs: c.totalMacs, cycles: c.scalesimTotalCyclesSum + c.layerCount };
})();
const HEADER =
  'Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,';

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'deltasim-simulate-'));
}

function topologyFile(dir: string, rows: string[], name = 'net.csv'): string {
  const path = join(dir, name);
  writeFileSync(path, `${HEADER}\n${rows.join('\n')}\n`);
  return path;
}

describe('deltasim simulate', () => {
  test('plain: the bundled ResNet-18 on the bundled default.cfg, Σ(cycles − 1) = 1,718,353', async () => {
    const { code, stdout, stderr } = await run([...RESNET, '--config', 'configs/scalesim/default.cfg']);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toContain('hardware  scale_example_run_32x32_os: 32x32 array, dataflow os, int8');
    expect(stdout).toMatch(/^conv1\s+113,836,800\s+758\s+158,422\s+70\.17\s/m);
    expect(stdout).toMatch(/^total\s+1,471,181,568\s+2,350\s+1,718,374\s/m);
    expect(stdout).toContain('(sum 1,718,353)');
  });

  test('--json: NDJSON events, last line the report', async () => {
    const { code, stdout } = await run([...RESNET, '--json']);
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    const events = lines.slice(0, -1).map((l) => JSON.parse(l) as { type: string });
    expect(events[0]!.type).toBe('run-start');
    expect(events[events.length - 1]!.type).toBe('run-done');
    expect(events.filter((e) => e.type === 'layer-done')).toHaveLength(RESNET_GOLDEN.layers);
    const report = JSON.parse(lines[lines.length - 1]!) as Report;
    expect(report.tool).toBe('deltasim');
    expect(report.hardware).toMatchObject({ rows: 32, cols: 32, dataflow: 'os' });
    expect(report.total.cycles).toBe(RESNET_GOLDEN.cycles);
    expect(report.total.macs).toBe(RESNET_GOLDEN.macs);
    expect(report.layers[0]).toMatchObject({ name: 'conv1', macs: 113_836_800, folds: 758, cycles: 158_422 });
    for (const l of report.layers) {
      for (const key of [
        'name',
        'macs',
        'executedMacs',
        'cycles',
        'denseCycles',
        'folds',
        'utilization',
        'mappingEfficiency',
      ]) {
        expect(l).toHaveProperty(key);
      }
      expect(l.energyPj.total).toBeGreaterThan(0);
    }
  });

  test('flags override the config file: --array and --dataflow over default.cfg', async () => {
    const { stdout } = await run([
      '--topology',
      'configs/topologies/inception-5b.csv',
      '--config',
      'configs/scalesim/default.cfg',
      '--array',
      '8x128',
      '--dataflow',
      'IS',
      '--json',
    ]);
    const report = JSON.parse(stdout.trimEnd().split('\n').pop()!) as Report;
    expect(report.hardware).toMatchObject({ rows: 8, cols: 128, dataflow: 'is' });
    expect(report.layers[0]!.cycles - 1).toBe(113_615);
  });

  test('our YAML hardware file gives the same figures as the SCALE-Sim .cfg it mirrors', async () => {
    const a = await run([...RESNET, '--config', 'configs/hw/scalesim-default.yaml', '--json']);
    const b = await run([...RESNET, '--config', 'configs/scalesim/default.cfg', '--json']);
    const ra = JSON.parse(a.stdout.trimEnd().split('\n').pop()!) as Report;
    const rb = JSON.parse(b.stdout.trimEnd().split('\n').pop()!) as Report;
    // Same figures; only the DRAM level's bandwidth demand differs (the YAML gives 64 B/cycle, the
    // .cfg is CALC = unlimited), and neither stalls.
    const withoutLevels = (r: Report) => r.layers.map(({ levels: _levels, ...rest }) => rest);
    expect(withoutLevels(ra)).toEqual(withoutLevels(rb));
  });

  test('--precision changes energy (MAC and word size), not cycles', async () => {
    const int8 = JSON.parse((await run([...RESNET, '--json'])).stdout.trimEnd().split('\n').pop()!) as Report;
    const fp32 = JSON.parse(
      (await run([...RESNET, '--json', '--precision', 'fp32'])).stdout.trimEnd().split('\n').pop()!,
    ) as Report;
    expect(fp32.total.cycles).toBe(int8.total.cycles);
    expect(fp32.total.energyPj.mac! / int8.total.energyPj.mac!).toBeCloseTo(4.6 / 0.3, 9);
    // Register accesses per MAC do not depend on the word; DRAM traffic is 4× the bits.
    expect(fp32.total.energyPj.register).toBe(int8.total.energyPj.register);
    expect(fp32.total.energyPj.dram! / int8.total.energyPj.dram!).toBeGreaterThan(3.99);
  });

  test('energy by component through the replay memory model; CALC bandwidth: no stalls', async () => {
    const dir = scratch();
    const cfg = join(dir, 'calc.cfg');
    // CALC ignores Bandwidth (SCALE-Sim sizes the interface to the demand): unlimited, never a stall.
    writeFileSync(
      cfg,
      readFileSync(join(root, 'configs/scalesim/default.cfg'), 'utf8')
        .replace(/InterfaceBandwidth\s*:\s*USER/i, 'InterfaceBandwidth: CALC')
        .replace(/^Bandwidth\s*:.*$/m, 'Bandwidth : 1'),
    );
    const { stdout } = await run([...RESNET, '--config', cfg, '--json']);
    const report = JSON.parse(stdout.trimEnd().split('\n').pop()!) as Report;
    expect(report.total.stallCycles).toBe(0);
    const e = report.total.energyPj;
    for (const key of ['mac', 'register', 'sram', 'dram'] as const) expect(e[key]).toBeGreaterThan(0);
    const sum =
      (e.mac ?? 0) +
      (e.gatedMac ?? 0) +
      (e.register ?? 0) +
      (e.sram ?? 0) +
      (e.dram ?? 0) +
      (e.metadata ?? 0);
    expect(e.total).toBeCloseTo(sum, 3);
    // int8 MAC energy is 0.3 pJ × MACs, as before; memory is on top.
    expect(e.mac).toBeCloseTo(report.total.macs * 0.3, 3);
  });

  test('InterfaceBandwidth USER: DRAM stalls in the report and in COMPUTE_REPORT.csv', async () => {
    const dir = scratch();
    const cfg = join(dir, 'user.cfg');
    writeFileSync(
      cfg,
      readFileSync(join(root, 'configs/scalesim/default.cfg'), 'utf8')
        .replace(/InterfaceBandwidth\s*:\s*CALC/i, 'InterfaceBandwidth: USER')
        .replace(/^Bandwidth\s*:.*$/m, 'Bandwidth : 1'),
    );
    const reportDir = join(dir, 'out');
    const { code, stdout } = await run([
      ...RESNET,
      '--config',
      cfg,
      '--json',
      '--scalesim-report',
      reportDir,
    ]);
    expect(code).toBe(0);
    const report = JSON.parse(stdout.trimEnd().split('\n').pop()!) as Report;
    expect(report.total.stallCycles).toBeGreaterThan(0);
    // Stalls come on top of the compute cycles, which stay SCALE-Sim's.
    expect(report.total.cycles - report.total.stallCycles).toBe(RESNET_GOLDEN.cycles);
    const rows = readFileSync(join(reportDir, 'COMPUTE_REPORT.csv'), 'utf8').trimEnd().split('\n').slice(1);
    for (const [i, row] of rows.entries()) {
      const [, total, stalls] = row.split(', ');
      expect(Number(total)).toBe(report.layers[i]!.cycles - 1);
      expect(Number(stalls)).toBe(report.layers[i]!.stallCycles);
    }
  });

  test('GEMM and depthwise files', async () => {
    const g = await run(['--topology', 'configs/topologies/gemm-small.csv', '--gemm', '--json']);
    const gr = JSON.parse(g.stdout.trimEnd().split('\n').pop()!) as Report;
    expect(gr.layers[0]).toMatchObject({ name: 'gemm_128x64x256', op: 'gemm', folds: 8, cycles: 2544 });
    const d = await run(['--topology', 'configs/topologies/mobilenet-block-dp.csv', '--json']);
    const dr = JSON.parse(d.stdout.trimEnd().split('\n').pop()!) as Report;
    // The DP layer's 4 identical channels are timed once: one report layer, 4 GEMMs.
    expect(dr.layers.map((l) => [l.name, l.op, l.gemms])).toEqual([
      ['conv_stem', 'conv2d', 1],
      ['conv_DP1', 'depthwise', 4],
      ['conv_pw1', 'conv2d', 1],
    ]);
    expect(scaleSimLayers(dr.layers).map((l) => l.name)).toEqual([
      'conv_stem',
      'conv_DP1Channel_0',
      'conv_DP1Channel_1',
      'conv_DP1Channel_2',
      'conv_DP1Channel_3',
      'conv_pw1',
    ]);
  });
});

describe('--scalesim-report', () => {
  // Golden CSVs: SCALE-Sim's compute-report arithmetic redone in Python floats and printed with str().
  test.each([
    ['resnet18.csv', '32x32', 'os', false],
    ['inception-5b.csv', '16x64', 'ws', false],
    ['inception-5b.csv', '8x128', 'is', false],
    ['gemm-small.csv', '24x40', 'os', true],
    ['gemm-small.csv', '32x32', 'is', true],
    ['mobilenet-block-dp.csv', '32x32', 'ws', false],
  ] as const)(
    '%s on %s %s is byte-identical to the golden COMPUTE_REPORT.csv',
    async (file, array, df, gemm) => {
      const dir = scratch();
      const { code } = await run([
        '--topology',
        `configs/topologies/${file}`,
        '--array',
        array,
        '--dataflow',
        df,
        ...(gemm ? ['--gemm'] : []),
        '--scalesim-report',
        dir,
      ]);
      expect(code).toBe(0);
      const golden = readFileSync(
        join(root, 'test/golden/compute-report', `${file.replace('.csv', '')}-${array}-${df}.csv`),
        'utf8',
      );
      expect(readFileSync(join(dir, 'COMPUTE_REPORT.csv'), 'utf8')).toBe(golden);
      expect(readdirSync(dir)).toEqual(['COMPUTE_REPORT.csv']);
    },
  );

  test('pythonFloatRepr matches Python repr()', () => {
    const cases: [number, string][] = [
      [100, '100.0'],
      [0.1, '0.1'],
      [70.17298842956426, '70.17298842956426'],
      [1e-5, '1e-05'],
      [0.0001, '0.0001'],
      [1.5e-7, '1.5e-07'],
      [1e16, '1e+16'],
      [1234567890123456.8, '1234567890123456.8'],
      [12345678901234568, '1.2345678901234568e+16'],
      [1e22, '1e+22'],
      [-2.5, '-2.5'],
      [0, '0.0'],
    ];
    for (const [x, repr] of cases) expect(pythonFloatRepr(x), String(x)).toBe(repr);
  });
});

describe('bad input: one line on stderr naming file, row and field; exit 2; no stack trace; no output', () => {
  const dir = scratch();
  const cases: [string, () => string[], string][] = [
    [
      'missing topology file',
      () => ['--topology', 'no/such.csv'],
      'deltasim: TopologyError: no/such.csv: file not found',
    ],
    [
      'non-numeric field',
      () => ['--topology', topologyFile(dir, ['a,8,8,3,3,x,1,1,'], 'nonnum.csv')],
      `deltasim: TopologyError: ${join(dir, 'nonnum.csv')}: row 2, field "Channels": must be a positive integer, got "x"`,
    ],
    [
      'negative field',
      () => ['--topology', topologyFile(dir, ['ok,8,8,3,3,1,1,1,', 'a,-8,8,3,3,1,1,1,'], 'neg.csv')],
      `deltasim: TopologyError: ${join(dir, 'neg.csv')}: row 3, field "IFMAP Height": must be a positive integer, got -8 (negative)`,
    ],
    [
      'filter larger than input',
      () => ['--topology', topologyFile(dir, ['a,8,5,3,7,1,1,1,'], 'big.csv')],
      `deltasim: TopologyError: ${join(dir, 'big.csv')}: row 2, field "Filter Width": filter (7) is larger than the input (IFMAP Width 5)`,
    ],
    [
      'zero stride',
      () => ['--topology', topologyFile(dir, ['a,8,8,3,3,1,1,0,'], 'zero.csv')],
      `deltasim: TopologyError: ${join(dir, 'zero.csv')}: row 2, field "Strides": stride must be at least 1, got 0`,
    ],
    [
      'unknown dataflow flag',
      () => [...RESNET, '--dataflow', 'xs'],
      'deltasim: UsageError: --dataflow: unknown dataflow "xs" (use os, ws, is)',
    ],
    [
      'unknown dataflow in a .cfg',
      () => {
        const path = join(dir, 'bad.cfg');
        writeFileSync(path, '[architecture_presets]\nArrayHeight: 32\nArrayWidth: 32\nDataflow: rs\n');
        return [...RESNET, '--config', path];
      },
      `deltasim: ConfigError: ${join(dir, 'bad.cfg')}: line 4, architecture_presets.Dataflow: unknown dataflow "rs" (use os, ws or is)`,
    ],
    [
      'missing config file',
      () => [...RESNET, '--config', 'nope.yaml'],
      'deltasim: ConfigError: nope.yaml: file not found',
    ],
    [
      '--array 0x4',
      () => [...RESNET, '--array', '0x4'],
      'deltasim: UsageError: --array: expected ROWSxCOLS with positive integers (e.g. 32x32), got "0x4"',
    ],
    [
      '--array abc',
      () => [...RESNET, '--array', 'abc'],
      'deltasim: UsageError: --array: expected ROWSxCOLS with positive integers (e.g. 32x32), got "abc"',
    ],
    [
      '--array 4x',
      () => [...RESNET, '--array', '4x'],
      'deltasim: UsageError: --array: expected ROWSxCOLS with positive integers (e.g. 32x32), got "4x"',
    ],
    [
      '--array -1x2',
      () => [...RESNET, '--array=-1x2'],
      'deltasim: UsageError: --array: expected ROWSxCOLS with positive integers (e.g. 32x32), got "-1x2"',
    ],
  ];

  test.each(cases)('%s', async (_what, argv, line) => {
    const reportDir = join(dir, `report-${Math.random().toString(36).slice(2)}`);
    const { code, stdout, stderr } = await run([...argv(), '--scalesim-report', reportDir]);
    expect(code).toBe(2);
    expect(stderr).toBe(`${line}\n`);
    expect(stdout).toBe('');
    expect(existsSync(reportDir)).toBe(false);
  });

  test('a missing --topology is a one-line usage error', async () => {
    const { code, stderr } = await run([]);
    expect(code).toBe(2);
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).toContain('--topology');
  });
});

describe('the built binary, as a fresh process (npm test builds dist/ first)', () => {
  test('--json | tail -n1 parses; a bad file prints one line and exits 2 without a stack', async () => {
    const ok = await runBuiltCli(['simulate', ...RESNET, '--json']);
    expect(ok.code).toBe(0);
    const report = lastJsonLine(ok.stdout) as Report;
    expect(report.total.cycles).toBe(RESNET_GOLDEN.cycles);
    const bad = await runBuiltCli(['simulate', '--topology', 'missing.csv']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('deltasim: TopologyError: missing.csv: file not found\n');
    expect(bad.stdout).toBe('');
  });
});

describe('live dashboard run (runLive)', () => {
  const config = simulateRunConfig(SCALESIM_DEFAULT, ['t.csv'], 'test');
  const layers = lowerTopology(
    [1, 2, 3].map((i) => ({
      name: `L${i}`,
      ifmapHeight: 8,
      ifmapWidth: 8,
      filterHeight: 3,
      filterWidth: 3,
      channels: 4,
      numFilters: 8 * i,
      strideHeight: 1,
      strideWidth: 1,
    })),
    'conv',
  );

  test('events reach the reporter as produced, the event loop turns after each layer, run-done after the report', async () => {
    const log: string[] = [];
    let turns = 0;
    const tick = (): void => {
      turns++;
      if (turns < 100) setImmediate(tick);
    };
    setImmediate(tick);
    const reporter = {
      onEvent: (event: RunEvent) => log.push(`${event.type}@${turns}`),
      finish: async () => {
        log.push('finish');
      },
    };
    await runLive(simulateDense(layers, config), reporter, async (report) => {
      log.push(`report ${report.layers.length}`);
    });
    const types = log.map((l) => l.split('@')[0]);
    expect(types).toEqual([
      'run-start',
      ...layers.flatMap(() => ['layer-start', 'layer-progress', 'layer-done']),
      'report 3',
      'run-done',
      'finish',
    ]);
    // Each layer starts on a later turn of the event loop than the previous layer ended on.
    const starts = log.filter((l) => l.startsWith('layer-start')).map((l) => Number(l.split('@')[1]));
    expect(starts[1]!).toBeGreaterThan(starts[0]!);
    expect(starts[2]!).toBeGreaterThan(starts[1]!);
  });

  test('a failed report write tears the dashboard down and reports no success', async () => {
    const types: string[] = [];
    const reporter = {
      onEvent: (event: RunEvent) => types.push(event.type),
      finish: async () => {
        types.push('finish');
      },
    };
    await expect(
      runLive(simulateDense(layers, config), reporter, async () => {
        throw new Error('disk full');
      }),
    ).rejects.toThrow('disk full');
    expect(types).not.toContain('run-done');
    expect(types.at(-1)).toBe('finish');
  });
});
