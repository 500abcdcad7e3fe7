/**
 * `npm run bench sweep`: the same 64-design sweeps on 1 and 2 worker threads, side by side (the goal
 * is ≥ 1.7x on 2 cores): one over ResNet-18's topology and one replaying a small seeded synthetic
 * trace (a few ms per design: the run's fixed costs weigh), and one replaying the bundled delta-CNN
 * trace (tens of ms per design, a realistic size). Each sweep row also gives the CPU time of a run —
 * the whole process and its main thread (Linux) — and when each stage of the run ended, so the
 * serial work stays visible when other load makes wall times unreliable. Then the per-job overhead of the thread pool and of the results
 * database against calling the design function directly, and designs per second.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PRESETS } from '../../src/core/presets.js';
import { syntheticTraceOptions } from '../../src/replay/replay-driver.js';
import { evaluatePoint, type PointTask } from '../../src/sweep/evaluate-point.js';
import { createPointPool, poolExecutor } from '../../src/sweep/point-pool.js';
import { ResultStore } from '../../src/sweep/result-store.js';
import { runSweep, type SweepPhases } from '../../src/sweep/run-sweep.js';
import { type SweepSpec, sweepSpecFromDocument } from '../../src/sweep/spec.js';
import { parseSyntheticSpec, synthesizeTrace } from '../../src/trace/synthesize.js';
import { type Measurement, measure, median, printTable } from './harness.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** The calling thread's CPU time in ms (Linux: /proc/thread-self/schedstat), or undefined elsewhere. */
function threadCpuMs(): number | undefined {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return undefined;
  }
}

const processCpuMs = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

interface SweepRun {
  readonly measurement: Measurement;
  /** Medians over the timed runs: CPU of the whole process, and of its main thread. */
  readonly cpuMs: number;
  readonly mainCpuMs: number | undefined;
  /** Median over the timed runs of when each stage ended (ms from the call). */
  readonly phases: SweepPhases;
}

/** One 64-design sweep on `threads` workers: wall medians, and CPU medians of the same runs. */
async function sweepRun(label: string, spec: SweepSpec, threads: number, dir: string): Promise<SweepRun> {
  const executor = poolExecutor(await createPointPool(threads));
  const cpu: number[] = [];
  const mainCpu: number[] = [];
  const phases: SweepPhases[] = [];
  let run = 0;
  const measurement = await measure(
    `64 designs × ${label}, ${threads} worker${threads > 1 ? 's' : ''} (pool + DuckDB)`,
    async () => {
      const cpuStart = processCpuMs();
      const mainStart = threadCpuMs();
      const summary = await runSweep({
        spec,
        dbPath: join(dir, `${label}-${threads}-${run++}.duckdb`),
        toolVersion: 'bench',
        executor,
      });
      if (summary.computed !== 64) throw new Error(`computed ${summary.computed} of 64`);
      phases.push(summary.phases);
      cpu.push(processCpuMs() - cpuStart);
      const mainEnd = threadCpuMs();
      if (mainStart !== undefined && mainEnd !== undefined) mainCpu.push(mainEnd - mainStart);
    },
    { iterations: 3, warmup: 1, unitsPerRun: 64, unit: 'designs' },
  );
  await executor.close();
  // The first sample is the warm-up run's.
  return {
    measurement,
    cpuMs: median(cpu.slice(1)),
    mainCpuMs: mainCpu.length > 1 ? median(mainCpu.slice(1)) : undefined,
    phases: Object.fromEntries(
      (Object.keys(phases[0]!) as (keyof SweepPhases)[]).map((k) => [
        k,
        median(phases.slice(1).map((p) => p[k])),
      ]),
    ) as unknown as SweepPhases,
  };
}

const PARAMETERS = {
  rows: [8, 16, 32, 64],
  cols: [8, 16, 32, 64],
  dataflow: ['os', 'ws'],
  'sram.filter': '[32, 128] KiB',
};

/** When each stage of a run ended; stages overlap (jobs start while a fresh database opens). */
const phaseLine = (p: SweepPhases): string =>
  `keys hashed ${p.keyed.toFixed(0)}, first job ${p.firstDispatch.toFixed(0)}, database open ${p.opened.toFixed(0)}, ` +
  `space recorded ${p.recorded.toFixed(0)}, last result ${p.computed.toFixed(0)}, committed ${p.committed.toFixed(0)}, closed ${p.closed.toFixed(0)}`;

/** The sweeps' rows, and notes per sweep: the ratio, the CPU per run, the phases. */
async function sweepRows(dir: string): Promise<{ rows: Measurement[]; notes: string[] }> {
  // The 64 designs of PARAMETERS on one workload.
  const benchSpec = (hardware: string, workload: Record<string, string>): Promise<SweepSpec> =>
    sweepSpecFromDocument(
      { name: 'bench', hardware, workloads: [workload], parameters: PARAMETERS },
      { source: 'bench.yaml', dir: root },
    );
  const topology = await benchSpec('scalesim-default', { topology: 'configs/topologies/resnet18.csv' });
  const tracePath = join(dir, 'synthetic-small.safetensors');
  await synthesizeTrace(tracePath, syntheticTraceOptions(parseSyntheticSpec(TRACE), 1));
  const trace = await benchSpec('sparten-like', { trace: tracePath });
  // Designs of realistic size (tens of ms each): the bundled delta-CNN trace recorded from a model.
  const recorded = await benchSpec('sparten-like', { trace: 'traces/delta-cnn-dal.safetensors' });
  const rows: Measurement[] = [];
  const notes: string[] = [];
  for (const [label, spec] of [
    ['ResNet-18', topology],
    [`trace ${TRACE}`, trace],
    ['trace delta-cnn-dal', recorded],
  ] as const) {
    const [one, two] = [await sweepRun(label, spec, 1, dir), await sweepRun(label, spec, 2, dir)];
    rows.push(one!.measurement, two!.measurement);
    const main = (r: SweepRun): string => (r.mainCpuMs === undefined ? 'n/a' : r.mainCpuMs.toFixed(0));
    notes.push(
      `${label}: 2 workers vs 1: ${(one!.measurement.medianMs / two!.measurement.medianMs).toFixed(2)}x (goal ≥ 1.7x on 2 free cores); ` +
        `CPU per run (process / main thread): 1 worker ${one!.cpuMs.toFixed(0)} / ${main(one!)} ms, 2 workers ${two!.cpuMs.toFixed(0)} / ${main(two!)} ms`,
      ...[one!, two!].map(
        (r, i) => `  ${i + 1} worker${i ? 's' : ''}: phases ended at (ms, median) ${phaseLine(r.phases)}`,
      ),
    );
  }
  return { rows, notes };
}

/** The synthetic trace the second sweep replays (`deltasim trace synth small:0.5:4 --seed 1`). */
const TRACE = 'small:0.5:4';

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
