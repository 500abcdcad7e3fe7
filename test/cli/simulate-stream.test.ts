import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { simulateRunConfig } from '../../src/cli/commands/simulate.js';
import { streamSimulate } from '../../src/cli/commands/simulate-stream.js';
import type { CliIo } from '../../src/cli/io.js';
import { JsonReporter } from '../../src/cli/reporters/json.js';
import { formatPlainReport } from '../../src/cli/reporters/plain.js';
import { loadTopology } from '../../src/config/topology.js';
import { collectRun, simulateDense } from '../../src/core/dense-engine.js';
import { lowerTopology } from '../../src/core/lowering.js';
import { SCALESIM_DEFAULT, TPU_V1_LIKE } from '../../src/core/presets.js';
import { lastJsonLine, runBuiltCli } from './built-cli.js';

/**
 * `simulate` streams its plain and JSON output from re-reads of the topology (memory independent of
 * the row count): what it prints must be byte for byte what the in-memory run prints.
 */
const root = new URL('../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'deltasim-stream-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function collectingIo(): CliIo & { out: () => string } {
  let out = '';
  return {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: () => true },
    env: {},
    cwd: root,
    out: () => out,
  };
}

describe('streamed simulate output equals the in-memory run', () => {
  test.each([
    ['configs/topologies/resnet18.csv', 'conv', SCALESIM_DEFAULT],
    ['configs/topologies/mobilenet-block-dp.csv', 'conv', TPU_V1_LIKE],
    [
      'configs/topologies/gemm-small.csv',
      'gemm',
      { ...SCALESIM_DEFAULT, dram: { bandwidthBytesPerCycle: 4 } },
    ],
  ] as const)('%s (%s) on %s', async (topology, kind, hardware) => {
    const config = simulateRunConfig(hardware, [topology], 'test');
    const path = join(root, topology);
    const { events, report } = collectRun(
      simulateDense(lowerTopology(await loadTopology(path, kind), kind), config),
    );
    const memoryJson = collectingIo();
    const reporter = new JsonReporter(memoryJson);
    for (const event of events) reporter.onEvent(event, 0);
    await reporter.finish();
    for (const json of [true, false]) {
      const io = collectingIo();
      await streamSimulate({ path, kind, source: topology, config, json }, io);
      expect(io.out()).toBe(json ? memoryJson.out() : formatPlainReport(report));
    }
  });
});

describe('a long topology as a fresh process', () => {
  test('20,000 rows: --json streams every layer, totals exact; plain prints every row', async () => {
    const rows = Array.from({ length: 20_000 }, (_, i) => `l${i}, ${1 + (i % 7)}, 64, ${8 + (i % 3)},`);
    const path = join(dir, 'long.csv');
    writeFileSync(path, `Layer, M, N, K,\n${rows.join('\n')}\n`);
    const json = await runBuiltCli(['simulate', '--gemm', '--topology', path, '--json']);
    expect(json.stderr).toBe('');
    const lines = json.stdout.trimEnd().split('\n');
    // run-start, a start, a one-step progress and a done event per layer, run-done, the summary line
    expect(lines.length).toBe(1 + 3 * 20_000 + 2);
    const report = lastJsonLine(json.stdout) as { layers: { macs: number }[]; total: { macs: number } };
    expect(report.layers.length).toBe(20_000);
    const macs = rows.reduce((sum, _, i) => sum + (1 + (i % 7)) * 64 * (8 + (i % 3)), 0);
    expect(report.total.macs).toBe(macs);
    const plain = await runBuiltCli(['simulate', '--gemm', '--topology', path, '--ui', 'plain']);
    expect(plain.stderr).toBe('');
    expect(plain.stdout.split('\n').filter((l) => /^l\d+ /.test(l)).length).toBe(20_000);
  });

  test('an error in the last row prints nothing on stdout', async () => {
    const rows = Array.from({ length: 5_000 }, (_, i) => `l${i}, 4, 4, 4,`);
    const path = join(dir, 'bad-tail.csv');
    writeFileSync(path, `Layer, M, N, K,\n${rows.join('\n')}\nbad, 4, x, 4,\n`);
    const r = await runBuiltCli(['simulate', '--gemm', '--topology', path, '--json']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `deltasim: TopologyError: ${path}: row 5002, field "N": must be a positive integer, got "x"\n`,
    );
  });
});
