import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertBuiltCli, BUILT_MAIN, ROOT, runBuiltCli } from '../cli/built-cli.js';
import { GEMM_SPEC, tempDir } from './sweep-helpers.js';

const QUERY = 'SELECT key, cycles, energyPj, areaMm2 FROM results ORDER BY key';

async function query(db: string): Promise<string> {
  const r = await runBuiltCli(['sweep', 'query', db, QUERY, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

// Several fresh CLI processes per test, on a shared 2-core machine.
describe('deltasim sweep, merge, sweep query (built CLI)', { timeout: 300_000 }, () => {
  it('shards 0/2 and 1/2 merged equal the whole sweep; the plot and tables are written', async () => {
    assertBuiltCli();
    const dir = tempDir();
    const whole = await runBuiltCli([
      'sweep',
      GEMM_SPEC,
      '--out',
      join(dir, 'all/results.parquet'),
      '--plot',
      join(dir, 'all/front.svg'),
      '--workers',
      '1',
      '--ui',
      'plain',
    ]);
    expect(whole.code, whole.stderr).toBe(0);
    expect(whole.stdout).toMatch(/^jobs: {5}24: 24 computed, 0 already in the database$/m);
    for (const f of ['sweep.duckdb', 'results.parquet', 'results.csv', 'front.svg'])
      expect(existsSync(join(dir, 'all', f)), f).toBe(true);
    const svg = readFileSync(join(dir, 'all/front.svg'), 'utf8');
    expect(svg).toMatch(/^<\?xml[\s\S]*<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg).toMatch(/>latency \((s|ms|µs|ns)\)</);
    expect(svg).toMatch(/>energy \((J|mJ|µJ|nJ|pJ)\)</);
    // The workload by file name, not the spec-relative path; the summary's figures in the axis units.
    expect(svg).toContain('>gemm-test-sweep: latency vs energy (gemm-small.csv)<');
    expect(whole.stdout).toMatch(/ latency \((ms|µs|ns)\) +energy \((mJ|µJ|nJ|pJ)\)$/m);
    // One dot per design, each titled with its parameters.
    expect(svg.match(/<title>#\d+ rows=/g)).toHaveLength(24);
    for (const i of [0, 1]) {
      const shard = await runBuiltCli(
        ['sweep', GEMM_SPEC, '--out', join(dir, `s${i}/results.parquet`), '--workers', '1', '--ui', 'plain'],
        { env: { SLURM_ARRAY_TASK_ID: String(i), SLURM_ARRAY_TASK_COUNT: '2' } },
      );
      expect(shard.code, shard.stderr).toBe(0);
      expect(shard.stdout).toMatch(new RegExp(`^jobs: {5}12 in shard ${i}/2 \\(of 24\\)`, 'm'));
    }
    const onlyOne = await runBuiltCli([
      'merge',
      join(dir, 's0/sweep.duckdb'),
      '--out',
      join(dir, 'part.parquet'),
    ]);
    expect(onlyOne.code).toBe(1);
    expect(onlyOne.stderr).toMatch(/^deltasim: merge: missing: point #1 /m);
    const merged = await runBuiltCli([
      'merge',
      join(dir, 's0/sweep.duckdb'),
      join(dir, 's1/sweep.duckdb'),
      '--out',
      join(dir, 'merged.duckdb'),
    ]);
    expect(merged.code, merged.stderr).toBe(0);
    expect(merged.stdout).toMatch(/24 results of 24 expected, 0 missing, 0 duplicate/);
    expect(await query(join(dir, 'merged.duckdb'))).toBe(await query(join(dir, 'all/sweep.duckdb')));
  });

  it('--plot-x/--plot-y: any two objectives, with units, and the front of those two (= brute force)', async () => {
    assertBuiltCli();
    const dir = tempDir();
    const svgPath = join(dir, 'area-edp.svg');
    const r = await runBuiltCli([
      'sweep',
      GEMM_SPEC,
      '--out',
      join(dir, 'results.parquet'),
      '--plot',
      svgPath,
      '--plot-x',
      'area',
      '--plot-y',
      'edp',
      '--workers',
      '1',
      '--ui',
      'plain',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const { parseHTML } = await import('linkedom');
    const { document } = parseHTML(readFileSync(svgPath, 'utf8'));
    const texts = [...document.querySelectorAll('text')].map((t) => t.textContent);
    expect(texts).toContain('area (mm²)');
    expect(texts.filter((t) => /^energy-delay product \((J|mJ|µJ|nJ|pJ)·s\)$/.test(t ?? ''))).toHaveLength(1);
    expect(texts.some((t) => /latency|^energy \(/.test(t ?? ''))).toBe(false);
    const rings = document.querySelectorAll('g.pareto-front circle').length;
    // Brute force over the database: designs no other design beats in both area and EDP.
    const q = await runBuiltCli([
      'sweep',
      'query',
      join(dir, 'sweep.duckdb'),
      'SELECT point_index, areaMm2 AS a, edpPjSeconds AS e FROM results',
      '--json',
    ]);
    expect(q.code, q.stderr).toBe(0);
    const rows = q.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { a: number; e: number });
    expect(rows).toHaveLength(24);
    // count(*) is a BIGINT: printed as a JSON number, not an internal error.
    const count = await runBuiltCli([
      'sweep',
      'query',
      join(dir, 'sweep.duckdb'),
      'SELECT count(*) AS n FROM results',
      '--json',
    ]);
    expect(count.code, count.stderr).toBe(0);
    expect(JSON.parse(count.stdout)).toEqual({ n: 24 });
    const front = rows.filter((p) => !rows.some((o) => o.a <= p.a && o.e <= p.e && (o.a < p.a || o.e < p.e)));
    expect(front.length).toBeGreaterThan(1);
    expect(rings).toBe(front.length);
    const bad = await runBuiltCli(['sweep', GEMM_SPEC, '--out', join(dir, 'x.parquet'), '--plot-x', 'bogus']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toEqual([
      'deltasim: UsageError: --plot-x: must be one of latency, energy, edp, area, pj-per-mac, speedup',
    ]);
  });

  it('kill -9 in the middle, then a rerun: every point once, as a clean run', async () => {
    assertBuiltCli();
    const dir = tempDir();
    const args = ['sweep', GEMM_SPEC, '--out', join(dir, 'results.parquet'), '--workers', '1', '--json'];
    const child = spawn(process.execPath, [BUILT_MAIN, ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let lines = 0;
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        lines += chunk
          .toString()
          .split('\n')
          .filter((l) => l.includes('"point-done"')).length;
        if (lines >= 5 && child.exitCode === null) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.once('exit', () => resolve());
    });
    await new Promise((r) => child.once('close', r));
    expect(child.signalCode).toBe('SIGKILL');
    const rerun = await runBuiltCli([...args.slice(0, -1), '--ui', 'plain']);
    expect(rerun.code, rerun.stderr).toBe(0);
    const [, computed, reused] = /^jobs: {5}24: (\d+) computed, (\d+) already in the database$/m.exec(
      rerun.stdout,
    )!;
    expect(Number(reused)).toBeGreaterThanOrEqual(5);
    expect(Number(computed) + Number(reused)).toBe(24);
    const clean = tempDir();
    const cleanRun = await runBuiltCli([
      'sweep',
      GEMM_SPEC,
      '--out',
      join(clean, 'results.parquet'),
      '--workers',
      '1',
      '--ui',
      'plain',
    ]);
    expect(cleanRun.code, cleanRun.stderr).toBe(0);
    expect(await query(join(dir, 'sweep.duckdb'))).toBe(await query(join(clean, 'sweep.duckdb')));
  });

  it('a bad spec: one line naming the file and key, exit 2, nothing written', async () => {
    const dir = tempDir();
    const r = await runBuiltCli([
      'sweep',
      join(ROOT, 'test/sweep/fixtures/bad-unit.yaml'),
      '--out',
      join(dir, 'r.parquet'),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^deltasim: SweepSpecError: .*bad-unit\.yaml: parameters\.clock\[1\]: bad unit: 2 GB is not convertible to Hz$/,
      ),
    ]);
    expect(existsSync(join(dir, 'sweep.duckdb'))).toBe(false);
  });

  it('--shard-count outside a Kubernetes Indexed Job: refused before anything runs (not the whole sweep)', async () => {
    const dir = tempDir();
    const r = await runBuiltCli(['sweep', GEMM_SPEC, '--out', join(dir, 'r.parquet'), '--shard-count', '3']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([
      'deltasim: UsageError: --shard-count: needs JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) in the environment; outside one, give --shard i/n',
    ]);
    expect(existsSync(join(dir, 'sweep.duckdb'))).toBe(false);
  });

  it('a corrupt trace is bad input: one line naming the file and tensor, exit 2, no tables', async () => {
    const dir = tempDir();
    const trace = join(dir, 't.safetensors');
    expect((await runBuiltCli(['trace', 'synth', 'small:0.5:2', '--seed', '1', '--out', trace])).code).toBe(
      0,
    );
    const bytes = readFileSync(trace);
    bytes[bytes.length - 100]! ^= 1; // inside the last tensor's data: its CRC no longer matches
    writeFileSync(trace, bytes);
    const spec = join(dir, 's.yaml');
    writeFileSync(
      spec,
      'name: corrupt\nhardware: sparten-like\nworkloads:\n  - trace: t.safetensors\nparameters:\n  rows: [8, 16]\nobjectives: [latency, energy]\n',
    );
    const r = await runBuiltCli(['sweep', spec, '--out', join(dir, 'o', 'r.parquet'), '--ui', 'plain']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^deltasim: TraceError: .*t\.safetensors: tensor "[^"]+": CRC-32 mismatch: data corrupted$/,
      ),
    ]);
    expect(existsSync(join(dir, 'o', 'r.parquet'))).toBe(false);
  });

  it("never replaces a user's table, plot or merged file without --force", async () => {
    const dir = tempDir();
    const mine = (name: string): string => {
      const path = join(dir, name);
      writeFileSync(path, 'mine\n');
      return path;
    };
    const expectRefused = (r: { code: number | null; stderr: string }, flag: string, path: string): void => {
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toEqual([
        `deltasim: UsageError: ${flag}: ${path}: exists; pass --force to replace it`,
      ]);
      expect(readFileSync(path, 'utf8')).toBe('mine\n');
    };
    const csv = mine('results.csv');
    const table = await runBuiltCli([
      'sweep',
      GEMM_SPEC,
      '--out',
      join(dir, 'results.parquet'),
      '--ui',
      'plain',
    ]);
    expectRefused(table, '--out', csv);
    const plot = mine('front.svg');
    const plotRun = await runBuiltCli([
      'sweep',
      GEMM_SPEC,
      '--out',
      join(dir, 'other.parquet'),
      '--plot',
      plot,
      '--ui',
      'plain',
    ]);
    expectRefused(plotRun, '--plot', plot);
    expect(existsSync(join(dir, 'sweep.duckdb'))).toBe(false);
    const merged = mine('merged.parquet');
    expectRefused(await runBuiltCli(['merge', join(dir, 'none.duckdb'), '--out', merged]), '--out', merged);
  });
});
