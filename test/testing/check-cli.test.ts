import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LAWS } from '../../src/testing/laws/index.js';
import {
  assertBuiltCli,
  lastJsonLine,
  ROOT,
  runBuiltCli,
  runProcess,
  stderrLines,
} from '../cli/built-cli.js';

interface CheckJson {
  readonly passed: boolean;
  readonly runs: number;
  readonly seed: number;
  readonly checks: readonly {
    readonly hardware: string;
    readonly results: readonly {
      readonly law: string;
      readonly passed: boolean;
      readonly seed: number;
      readonly path?: string;
      readonly counterexample?: string;
      readonly error?: string;
    }[];
  }[];
}

const BROKEN = 'test/testing/fixtures/gating-costs-a-cycle.mjs';

describe('deltasim/testing (the package export)', () => {
  it('loads by its subpath from the built package, typed', async () => {
    assertBuiltCli();
    const script =
      "import { LAWS, arbitraryHardware, checkLaw } from 'deltasim/testing'; console.log(LAWS.map((l) => l.name).join(' '), typeof arbitraryHardware, typeof checkLaw)";
    const r = await runProcess(process.execPath, ['--input-type=module', '-e', script]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(
      /^executed-equals-brute-force .* trace-write-read-identity sweep-shards-merged-equal-full-sweep function function\n$/,
    );
    expect(existsSync(join(ROOT, 'dist/testing/index.d.ts'))).toBe(true);
  });
});

describe('deltasim check (built CLI, fresh process)', () => {
  it('every law holds on every preset', async () => {
    const r = await runBuiltCli(['check', '--runs', '3', '--json'], { timeoutMs: 300_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = lastJsonLine(r.stdout) as CheckJson;
    expect(out.passed).toBe(true);
    expect(out.checks.map((c) => c.hardware)).toEqual([
      'scalesim-default',
      'eyeriss-like',
      'tpu-v1-like',
      'sparten-like',
      'neuronflow-like',
    ]);
    for (const check of out.checks) {
      expect(check.results.length).toBe(LAWS.length);
      expect(check.results.every((res) => res.passed)).toBe(true);
    }
  }, 300_000);

  it('a broken engine fails with exit 1, the shrunk case and a replay line that reproduces it', async () => {
    const args = [
      'check',
      '--hw',
      'configs/hw/eyeriss-like.yaml',
      '--engine',
      BROKEN,
      '--runs',
      '20',
      '--seed',
      '7',
    ];
    const plain = await runBuiltCli([
      ...args,
      '--law',
      'gating-never-changes-cycles',
      '--law',
      'overlap-order',
    ]);
    expect(plain.code).toBe(1);
    expect(plain.stdout).toMatch(/^ {2}FAIL {2}gating-never-changes-cycles after \d+ runs/m);
    expect(plain.stdout).toMatch(/^ {2}pass {2}overlap-order/m);
    const replayLine = /replay: deltasim (check .*)$/m.exec(plain.stdout)?.[1];
    expect(replayLine).toMatch(/--law gating-never-changes-cycles --seed 7 --path \d+(:\d+)*$/);
    const first = await runBuiltCli([...args, '--law', 'gating-never-changes-cycles', '--json']);
    expect(first.code).toBe(1);
    const failed = (lastJsonLine(first.stdout) as CheckJson).checks[0]!.results[0]!;
    expect(failed.passed).toBe(false);
    expect(failed.error).toMatch(/with (gate → none|none → gate)/);
    // The printed replay line, as a user pastes it: the same counterexample at once.
    const again = await runBuiltCli([...replayLine!.split(' '), '--json']);
    expect(again.code).toBe(1);
    const replayed = (lastJsonLine(again.stdout) as CheckJson).checks[0]!.results[0]!;
    expect(replayed.counterexample).toBe(failed.counterexample);
    expect(replayed.error).toBe(failed.error);
  }, 300_000);

  it('N:M structured weights (stc-2of4): every law holds, structured and fallback weights drawn', async () => {
    const r = await runBuiltCli(['check', '--hw', 'configs/hw/stc-2of4.yaml', '--runs', '4'], {
      timeoutMs: 300_000,
    });
    expect(r.stderr).toBe('');
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/^stc-2of4 \(deltasim engine, 4 runs per law, seed 1\)$/m);
    expect(r.stdout).toMatch(/^ {2}all \d+ laws hold$/m);
  }, 300_000);

  it('refuses bad input with one line and exit 2', async () => {
    for (const [args, pattern] of [
      [['check', '--law', 'no-such-law'], /--law: no-such-law: unknown law/],
      [['check', '--path', '1:2'], /--path: 1:2: replays one law/],
      [['check', '--runs', '0'], /--runs: 0: must be an integer in \[1,/],
      [['check', '--preset', 'nope'], /unknown preset "nope"/],
      [['check', '--preset', 'sparten-like', '--hw', 'configs/hw/sparten-like.yaml'], /not both/],
      [
        ['check', '--engine', 'test/testing/fixtures/not-an-engine.mjs'],
        /--engine: .*must export default a function/,
      ],
      [['check', '--engine', 'test/testing/fixtures/missing.mjs'], /--engine: .*cannot load/],
    ] as const) {
      const r = await runBuiltCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(stderrLines(r.stderr)).toHaveLength(1);
      expect(r.stderr).toMatch(pattern);
      expect(r.stdout).toBe('');
    }
  }, 120_000);
});
