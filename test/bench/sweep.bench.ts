/**
 * `npm run bench sweep`: the same 64-design sweeps on 1 and 2 worker threads (the goal is ≥ 1.7x on
 * 2 cores): one over ResNet-18's topology and one replaying a small seeded synthetic trace (a few ms
 * per design: the run's fixed costs weigh), and one replaying the bundled delta-CNN trace (tens of
 * ms per design, a realistic size). A process's compiled code settles differently from one process
 * to the next (the same 64 designs on one worker took 623–1,180 ms across processes), so one
 * process's ratio proves nothing: every sweep runs in several fresh child processes, 1 and 2
 * workers interleaved (1, 2, 1, 2, …, so a change in the machine's load hits both), and the ratio
 * is that of the medians, printed with the spread. Each child runs the sweep as the CLI does
 * (built modules, the pool started first: "cold"), then again on its warm pool ("warm"), and
 * reports when each stage ended and each thread's CPU time, which shows where the wall time goes
 * when load makes wall times unreliable. Then, in this process, the per-job overhead of the thread
 * pool and of the results database against calling the design function directly.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PRESETS } from '../../src/core/presets.js';
import { syntheticTraceOptions } from '../../src/replay/replay-driver.js';
import { evaluatePoint, type PointTask } from '../../src/sweep/evaluate-point.js';
import { createPointPool } from '../../src/sweep/point-pool.js';
import { ResultStore } from '../../src/sweep/result-store.js';
import type { SweepPhases } from '../../src/sweep/run-sweep.js';
import { parseSyntheticSpec, synthesizeTrace } from '../../src/trace/synthesize.js';
import { type Measurement, measure, median, printTable } from './harness.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Fresh child processes per worker count and sweep (DELTASIM_BENCH_SWEEP_PROCESSES, default 5). */
const PROCESSES = Number(process.env.DELTASIM_BENCH_SWEEP_PROCESSES ?? 5);
/**
 * DELTASIM_BENCH_SWEEPS=a,b: only the sweeps whose label contains one of these (e.g. `delta-cnn`,
 * `resnet18`); all by default.
 */
const SWEEPS = (process.env.DELTASIM_BENCH_SWEEPS ?? '').split(',').filter(Boolean);
/** DELTASIM_BENCH_BASELINE=DIR (the `dist/` of an earlier build): measured too, interleaved with this one. */
const BASELINE = process.env.DELTASIM_BENCH_BASELINE;

/** One sweep of a child process (sweep-child.mjs). */
interface ChildRun {
  readonly run: 'cold' | 'warm';
  /** The sweep (runSweep) alone. */
  readonly wallMs: number;
  /** Before it: the spec read while the pool starts (cold), nothing (warm). */
  readonly setupMs: number;
  readonly phases: SweepPhases;
  readonly cpu: {
    readonly mainMs: number;
    readonly workerMs: readonly number[];
    /** Every other thread: V8's platform threads, libuv's pool, DuckDB's own, those that ended. */
    readonly otherMs: number;
    readonly v8Ms: number;
    readonly libuvMs: number;
    readonly laterMs: number;
  };
}

function runChild(document: object, threads: number, dir: string, dist?: string): readonly ChildRun[] {
  const tids = join(dir, `tids-${threads}-${Date.now()}`);
  const out = execFileSync(
    process.execPath,
    [
      '--import',
      join(root, 'test/bench/worker-tid.mjs'),
      join(root, 'test/bench/sweep-child.mjs'),
      JSON.stringify(document),
      String(threads),
      dir,
      ...(dist ? [dist] : []),
    ],
    { encoding: 'utf8', env: { ...process.env, DELTASIM_BENCH_WORKER_TIDS: tids } },
  );
  return (JSON.parse(out.trim().split('\n').pop()!) as { runs: ChildRun[] }).runs;
}

const PARAMETERS = {
  rows: [8, 16, 32, 64],
  cols: [8, 16, 32, 64],
  dataflow: ['os', 'ws'],
  'sram.filter': '[32, 128] KiB',
};

const ms = (v: number): string => v.toFixed(0);
const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);
const medianOf = (runs: readonly ChildRun[], f: (r: ChildRun) => number): number => median(runs.map(f));

/** Where a run's wall time goes (medians over the processes): serial start, the workers, the tail. */
function breakdown(runs: readonly ChildRun[]): string {
  // An earlier build may lack a stage (NaN: printed as such).
  const at = (f: (p: SweepPhases) => number) => medianOf(runs, (r) => f(r.phases) ?? Number.NaN);
  return (
    `start-up before the sweep ${ms(medianOf(runs, (r) => r.setupMs))}; in the sweep: first result ${ms(at((p) => p.firstResult))}, last result ${ms(at((p) => p.computed))}, ` +
    `committed ${ms(at((p) => p.committed))}, closed ${ms(at((p) => p.closed))} ms; ` +
    `CPU main ${ms(medianOf(runs, (r) => r.cpu.mainMs))}, workers ${ms(medianOf(runs, (r) => sum(r.cpu.workerMs)))} ` +
    `(busiest ${ms(medianOf(runs, (r) => r.cpu.workerMs[0] ?? 0))}), other threads ${ms(medianOf(runs, (r) => r.cpu.otherMs))} ` +
    `(V8's compiler and GC ${ms(medianOf(runs, (r) => r.cpu.v8Ms))}, libuv's pool: DuckDB's queries and file reads ${ms(medianOf(runs, (r) => r.cpu.libuvMs))}, ` +
    `threads started later ${ms(medianOf(runs, (r) => r.cpu.laterMs))}), all threads ${ms(medianOf(runs, (r) => r.cpu.mainMs + sum(r.cpu.workerMs) + r.cpu.otherMs))} ms`
  );
}

/** The sweeps' rows (cold and warm, 1 and 2 workers), and per sweep the ratios, spreads and breakdowns. */
async function sweepRows(dir: string): Promise<{ rows: Measurement[]; notes: string[] }> {
  const benchDocument = (hardware: string, workload: Record<string, string>) => ({
    name: 'bench',
    hardware,
    workloads: [workload],
    parameters: PARAMETERS,
  });
  const synthetic = async (spec: string): Promise<string> => {
    const path = join(dir, `synthetic-${spec.replaceAll(':', '-')}.safetensors`);
    await synthesizeTrace(path, syntheticTraceOptions(parseSyntheticSpec(spec), 1));
    return path;
  };
  const sweeps = (
    [
      [
        'ResNet-18',
        async () => benchDocument('scalesim-default', { topology: 'configs/topologies/resnet18.csv' }),
      ],
      [`trace ${TRACE}`, async () => benchDocument('sparten-like', { trace: await synthetic(TRACE) })],
      // Designs of realistic size (tens of ms each): the bundled delta-CNN trace recorded from a model.
      [
        'trace delta-cnn-dal',
        async () => benchDocument('sparten-like', { trace: 'traces/delta-cnn-dal.safetensors' }),
      ],
      // An architect's sweep over a whole network (about 76 ms of CPU per design): what the runner's
      // fixed costs (thread warm-up, database) are small beside.
      [
        `trace ${LARGE_TRACE}`,
        async () => benchDocument('sparten-like', { trace: await synthetic(LARGE_TRACE) }),
      ],
    ] as const
  ).filter(([label]) => SWEEPS.length === 0 || SWEEPS.some((s) => label.includes(s)));
  const rows: Measurement[] = [];
  const notes: string[] = [];
  const builds: readonly (readonly [string, string | undefined])[] = [
    ['', undefined],
    ...(BASELINE ? [[`baseline ${BASELINE}: `, BASELINE] as const] : []),
  ];
  for (const [label, makeDocument] of sweeps) {
    const document = await makeDocument();
    // By build, then worker count: each child's runs.
    const byBuild = builds.map(
      () =>
        new Map<number, ChildRun[][]>([
          [1, []],
          [2, []],
        ]),
    );
    for (let i = 0; i < PROCESSES; i++)
      for (const [b, [, dist]] of builds.entries())
        for (const threads of [1, 2])
          byBuild[b]!.get(threads)!.push([...runChild(document, threads, dir, dist)]);
    notes.push(
      `${label}: ${PROCESSES} fresh processes per worker count${BASELINE ? ' and build' : ''}, run 1, 2, 1, 2, …`,
    );
    for (const [b, [prefix]] of builds.entries()) {
      const byThreads = byBuild[b]!;
      for (const run of ['cold', 'warm'] as const) {
        const samples = (threads: number): number[] =>
          byThreads.get(threads)!.map((runs) => runs.find((r) => r.run === run)!.wallMs);
        const [one, two] = [samples(1), samples(2)];
        for (const [threads, values] of [
          [1, one],
          [2, two],
        ] as const)
          rows.push({
            name: `${prefix}64 designs × ${label}, ${threads} worker${threads > 1 ? 's' : ''}, ${run}`,
            samplesMs: values,
            medianMs: median(values),
            minMs: Math.min(...values),
          });
        const spread = (values: readonly number[]): string =>
          `${ms(Math.min(...values))}–${ms(Math.max(...values))}`;
        notes.push(
          `  ${prefix}${run}: 2 workers vs 1, ratio of medians ${(median(one) / median(two)).toFixed(2)}x ` +
            `(1 worker ${ms(median(one))} ms, ${spread(one)}; 2 workers ${ms(median(two))} ms, ${spread(two)}; ` +
            `pairwise ${one.map((v, i) => (v / two[i]!).toFixed(2)).join(' ')}; goal ≥ 1.7x on 2 free cores)`,
        );
        for (const threads of [1, 2]) {
          const runs = byThreads.get(threads)!.map((r) => r.find((x) => x.run === run)!);
          notes.push(`    ${threads} worker${threads > 1 ? 's' : ' '}: ${breakdown(runs)}`);
        }
      }
    }
  }
  return { rows, notes };
}

/** The synthetic trace the second sweep replays (`deltasim trace synth small:0.5:4 --seed 1`). */
const TRACE = 'small:0.5:4';
/** The whole-network trace of the last sweep (`deltasim trace synth resnet18:0.5:1 --seed 1`, 33 MiB). */
const LARGE_TRACE = 'resnet18:0.5:1';

export default async function (): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'deltasim-sweep-bench-'));
  const sweeps = await sweepRows(dir);
  const task: PointTask = {
    hardware: { ...PRESETS['scalesim-default']!, name: 'bench' },
    workload: {
      kind: 'topology',
      path: join(root, 'configs/topologies/gemm-small.csv'),
      label: 'gemm-small.csv',
      gemm: true,
    },
    toolVersion: 'bench',
  };
  const JOBS = 200;
  const direct = await measure(
    `${JOBS} small jobs called directly`,
    async () => {
      for (let i = 0; i < JOBS; i++) await evaluatePoint(task);
    },
    { iterations: 5, warmup: 1, unitsPerRun: JOBS, unit: 'jobs' },
  );
  const pool = await createPointPool(1);
  const pooled = await measure(
    `${JOBS} small jobs through a 1-thread pool`,
    async () => {
      for (let i = 0; i < JOBS; i++) await pool.run(task);
    },
    { iterations: 5, warmup: 1, unitsPerRun: JOBS, unit: 'jobs' },
  );
  await pool.close();
  const metrics = await evaluatePoint(task);
  const store = await ResultStore.open(join(dir, 'inserts.duckdb'), {
    name: 'bench',
    parameterNames: ['rows'],
    toolVersion: 'bench',
  });
  let key = 0;
  const resultRow = (pointIndex: number) => ({
    key: `k${key++}`,
    pointIndex,
    workloadIndex: 0,
    workload: 'w',
    params: { rows: 8 },
    metrics,
  });
  // Committed one at a time, a row costs a whole commit (a WAL sync): fewer rows keep the bench short.
  const SINGLE_ROWS = 50;
  const inserts = await measure(
    `${SINGLE_ROWS} result rows, each committed on its own`,
    async () => {
      for (let i = 0; i < SINGLE_ROWS; i++) await store.insert(resultRow(i));
    },
    { iterations: 5, warmup: 1, unitsPerRun: SINGLE_ROWS, unit: 'rows' },
  );
  // What a sweep's lanes do: hand rows over without waiting, so commits group them.
  const grouped = await measure(
    `${JOBS} result rows handed over at once (group commit)`,
    async () => {
      await Promise.all(Array.from({ length: JOBS }, (_, i) => store.insert(resultRow(i))));
    },
    { iterations: 5, warmup: 1, unitsPerRun: JOBS, unit: 'rows' },
  );
  store.close();
  rmSync(dir, { recursive: true, force: true });
  const perJob = (m: Measurement): number => m.medianMs / JOBS;
  printTable(
    'sweep',
    [...sweeps.rows, direct, pooled, inserts, grouped],
    [
      ...sweeps.notes,
      `pool overhead per job: ${(perJob(pooled) - perJob(direct)).toFixed(3)} ms; database per row: ${(inserts.medianMs / SINGLE_ROWS).toFixed(3)} ms one commit each, ${perJob(grouped).toFixed(3)} ms grouped`,
    ],
  );
}
