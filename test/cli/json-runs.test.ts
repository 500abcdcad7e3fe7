import { describe, expect, test } from 'vitest';
import type { CliIo } from '../../src/cli/io.js';
import { JsonReporter } from '../../src/cli/reporters/json.js';
import type { Report } from '../../src/core/report.js';
import { lastJsonLine, runBuiltCli, stderrLines } from './built-cli.js';

const tiny = 'test/golden/traces/tiny.safetensors';

interface Runs {
  readonly runs: readonly Report[];
}

const summary = (report: Report) => `${report.sources.join('+')} on ${report.hardware.name}`;

describe('replay --json as a fresh process: the last stdout line', () => {
  test('several configurations: {"runs":[…]} in the order typed, --hw and --preset interleaved', async () => {
    const args = ['replay', tiny, '--preset', 'eyeriss-like', '--hw', 'configs/hw/tpu-v1-like.yaml'];
    const result = await runBuiltCli([...args, '--preset', 'sparten-like', '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const last = lastJsonLine(result.stdout) as Runs;
    expect(Object.keys(last)).toEqual(['runs']);
    expect(last.runs.map(summary)).toEqual([
      `${tiny} on eyeriss-like`,
      `${tiny} on tpu-v1-like`,
      `${tiny} on sparten-like`,
    ]);
    for (const report of last.runs) expect(report.total.cycles).toBeGreaterThan(0);
    // Each run's report is the one its own run-done event carried.
    const done = result.stdout
      .trimEnd()
      .split('\n')
      .slice(0, -1)
      .map((line) => JSON.parse(line) as { type: string; runIndex?: number; report?: Report })
      .filter((event) => event.type === 'run-done');
    expect(done.map((event) => event.runIndex ?? 0)).toEqual([0, 1, 2]);
    expect(done.map((event) => event.report)).toEqual(last.runs);
  });

  test('several traces × configurations: trace by trace, configurations as typed', async () => {
    const result = await runBuiltCli([
      'replay',
      tiny,
      '--synthetic',
      'small:0.5:2',
      '--preset',
      'neuronflow-like',
      '--preset',
      'sparten-like',
      '--json',
    ]);
    expect(result.code).toBe(0);
    const last = lastJsonLine(result.stdout) as Runs;
    expect(last.runs.map(summary)).toEqual([
      `${tiny} on neuronflow-like`,
      `${tiny} on sparten-like`,
      'synthetic:small:0.5:2 on neuronflow-like',
      'synthetic:small:0.5:2 on sparten-like',
    ]);
  });

  test('one run: the report itself, as before', async () => {
    const result = await runBuiltCli(['replay', tiny, '--preset', 'sparten-like', '--json']);
    expect(result.code).toBe(0);
    const report = lastJsonLine(result.stdout) as Report;
    expect(report.command).toBe('replay');
    expect(report.hardware.name).toBe('sparten-like');
    expect(report.total.macs).toBeGreaterThan(0);
  });

  test('a bad second trace: exit 2, one stderr line, nothing on stdout', async () => {
    const result = await runBuiltCli([
      'replay',
      tiny,
      'missing.safetensors',
      '--preset',
      'sparten-like',
      '--json',
    ]);
    expect(result.code).toBe(2);
    expect(stderrLines(result.stderr)).toHaveLength(1);
    expect(result.stderr).toContain('missing.safetensors');
    expect(result.stdout).toBe('');
  });
});

test('a run that never finished: no summary line (a partial comparison would look complete)', async () => {
  let out = '';
  const io: CliIo = {
    stdout: { write: (s: string) => (out += s), isTTY: false },
    stderr: { write: () => true },
    env: {},
    cwd: '/',
  };
  const reporter = new JsonReporter(io, 2);
  const report = { command: 'replay' } as unknown as Report;
  reporter.onEvent({ type: 'run-done', report }, 0);
  await reporter.finish();
  expect(out.trimEnd().split('\n')).toEqual([JSON.stringify({ type: 'run-done', report })]);
});
