import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import { UsageError } from '../../common/input-error.js';
import { interruptSignal } from '../../common/interrupt.js';
import type { ShardSpec } from '../../sweep/enumerate.js';
import type { SweepSpec } from '../../sweep/spec.js';
import { tableOutputs } from '../../sweep/sweep-outputs.js';
import { type CliIo, EXIT_CHECK_FAILED, EXIT_OK } from '../io.js';
import { checkOutputPath } from '../output-path.js';
import type { CommandModule } from '../program.js';
import type { UiMode } from '../reporters/select-reporter.js';
import { VERSION } from '../version.js';

export interface SweepOptions {
  readonly out: string;
  readonly db?: string;
  readonly plot?: string;
  readonly color?: string;
  readonly plotX?: string;
  readonly plotY?: string;
  readonly workers?: string;
  readonly shard?: string;
  readonly shardCount?: string;
  readonly queue?: string;
  readonly json?: boolean;
  readonly ui?: string;
  /** Replace existing result tables and plot (the database is resumed, never replaced). */
  readonly force?: boolean;
}

/** The database file of a sweep writing `out`: `sweep.duckdb` beside it. */
export const SWEEP_DB_FILE = 'sweep.duckdb';

export function parseWorkers(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^[1-9]\d{0,3}$/.test(text))
    throw new UsageError('--workers', '', `"${text}" is not a thread count in 1..9999`);
  return Number(text);
}

function checkTableOut(out: string): void {
  if (!/\.(parquet|csv)$/i.test(out))
    throw new UsageError('--out', '', `"${out}" must end in .parquet or .csv`);
}

/** Everything a sweep run needs decided before its first design: spec, outputs checked, sizes. */
async function prepareSweep(
  specPath: string,
  options: SweepOptions,
  io: CliIo,
  shard: ShardSpec | undefined,
  ui: UiMode,
  onSpec: (spec: SweepSpec) => void,
) {
  const { chooseReporterKind } = await import('../reporters/select-reporter.js');
  const { loadSweepSpec } = await import('../../sweep/spec.js');
  const spec = await loadSweepSpec(resolve(io.cwd, specPath), specPath);
  onSpec(spec);
  if (options.color !== undefined && !spec.parameters.some((p) => p.name === options.color))
    throw new UsageError('--color', '', `"${options.color}" is not one of the swept parameters`);
  const { readPlotAxis } = await import('../../sweep/spec.js');
  const axisFail = (flag: string, rule: string) => new UsageError(flag, '', rule);
  const plotX = readPlotAxis(options.plotX, '--plot-x', spec.plotAxes[0], axisFail);
  const plotY = readPlotAxis(options.plotY, '--plot-y', spec.plotAxes[1], axisFail);
  if (plotX === plotY)
    throw new UsageError('--plot-y', '', `is the same objective as the x axis ("${plotX}")`);
  const out = resolve(io.cwd, options.out);
  const dbPath =
    options.db !== undefined ? resolve(io.cwd, options.db) : resolve(dirname(out), SWEEP_DB_FILE);
  // Before any design runs: the tables and the plot never replace a user's file without --force.
  const log = (line: string): void => void io.stderr.write(`deltasim: ${line}\n`);
  for (const file of tableOutputs(out))
    await checkOutputPath('--out', file, 'file', { force: options.force, log });
  if (options.plot !== undefined)
    await checkOutputPath('--plot', resolve(io.cwd, options.plot), 'file', { force: options.force, log });
  await mkdir(dirname(out), { recursive: true });
  await mkdir(dirname(dbPath), { recursive: true });
  const { enumeratePoints } = await import('../../sweep/enumerate.js');
  const { OBJECTIVES } = await import('../../sweep/objectives.js');
  const objectives = spec.objectives.map((o) => ({ metric: OBJECTIVES[o].metric, goal: OBJECTIVES[o].goal }));
  const kind = chooseReporterKind({ ui, json: options.json === true, io });
  const enumeration = await enumeratePoints(spec);
  const totalPoints = enumeration.points.filter(
    (p) => !shard || p.index % shard.count === shard.index,
  ).length;
  return { spec, plotX, plotY, out, dbPath, objectives, kind, totalPoints, enumeration };
}

export async function runSweepCommand(specPath: string, options: SweepOptions, io: CliIo): Promise<number> {
  const { parseUiMode } = await import('../reporters/select-reporter.js');
  const ui = parseUiMode(options.ui);
  checkTableOut(options.out);
  if (options.plot !== undefined && !/\.svg$/i.test(options.plot))
    throw new UsageError('--plot', '', `"${options.plot}" must end in .svg`);
  const { resolveShard } = await import('../../sweep/shard.js');
  const shard = resolveShard(options.shard, options.shardCount, io.env);
  const { defaultWorkers, createPointPool, poolExecutor } = await import('../../sweep/point-pool.js');
  const workers = parseWorkers(options.workers, defaultWorkers());
  const redis =
    options.queue === undefined
      ? undefined
      : (await import('../../sweep/job-queue.js')).parseRedisUrl(options.queue, '--queue');
  // The worker threads start (module load, compilation) while this thread reads the spec, checks
  // the outputs and enumerates; a failure there stops them again.
  const poolStarting = redis ? undefined : createPointPool(workers);
  poolStarting?.catch(() => {});
  (await import('../../sweep/result-store.js')).preloadDuckDb();
  let prepared: Awaited<ReturnType<typeof prepareSweep>>;
  try {
    // Once the workloads are known the threads open them, while this thread goes on preparing.
    prepared = await prepareSweep(specPath, options, io, shard, ui, (spec) => {
      poolStarting?.then(
        (pool) => pool.prepare(spec.workloads),
        () => {},
      );
    });
  } catch (error) {
    await poolStarting?.then(
      (pool) => pool.close(),
      () => {},
    );
    throw error;
  }
  const { spec, plotX, plotY, out, dbPath, objectives, kind, totalPoints, enumeration } = prepared;
  const executor = redis
    ? await (await import('../../sweep/job-queue.js')).createQueueExecutor(redis)
    : poolExecutor(await poolStarting!);
  const { controller, dispose } = interruptSignal();
  const tui =
    kind === 'tui'
      ? (await import('../../sweep/sweep-tui.js')).startSweepTui(
          io.stdout as NodeJS.WriteStream,
          objectives,
          totalPoints,
        )
      : undefined;
  let finished = 0;
  let lastLine = 0;
  const { runSweep } = await import('../../sweep/run-sweep.js');
  let summary: Awaited<ReturnType<typeof runSweep>>;
  try {
    summary = await runSweep({
      spec,
      enumeration,
      dbPath,
      toolVersion: VERSION,
      executor,
      ...(shard ? { shard } : {}),
      signal: controller.signal,
      onEvent: (event) => {
        if (kind === 'json') io.stdout.write(`${JSON.stringify(event)}\n`);
        else if (tui) tui.onEvent(event);
        else if (event.type === 'point-done') {
          finished++;
          const now = Date.now();
          if (now - lastLine >= 2000 || finished === totalPoints) {
            lastLine = now;
            io.stderr.write(`deltasim: sweep: ${finished}/${totalPoints} points\n`);
          }
        }
      },
    });
  } finally {
    dispose();
    await executor.close();
    await tui?.finish();
  }
  const { writeSweepOutputs } = await import('../../sweep/sweep-report.js');
  const result = await writeSweepOutputs({
    spec,
    dbPath,
    out,
    ...(options.plot !== undefined ? { plot: resolve(io.cwd, options.plot) } : {}),
    ...(options.color !== undefined ? { colorBy: options.color } : {}),
    plotX,
    plotY,
    toolVersion: VERSION,
  });
  const { formatSweepSummary } = await import('../../sweep/sweep-report.js');
  if (kind === 'json')
    io.stdout.write(`${JSON.stringify({ type: 'sweep-summary', ...result.json(summary, shard) })}\n`);
  else io.stdout.write(formatSweepSummary(spec, summary, result, shard));
  return EXIT_OK;
}

export async function runSweepQuery(
  dbPath: string,
  sql: string,
  options: { json?: boolean },
  io: CliIo,
): Promise<number> {
  const { queryDatabase } = await import('../../sweep/merge.js');
  const { columns, rows } = await queryDatabase(resolve(io.cwd, dbPath), dbPath, sql);
  if (options.json) {
    for (const row of rows)
      io.stdout.write(
        `${JSON.stringify(Object.fromEntries(columns.map((c, i) => [c, row[i]])), bigIntAsJson)}\n`,
      );
    return EXIT_OK;
  }
  const { alignedTable } = await import('../reporters/aligned-table.js');
  const text = rows.map((r) => r.map((v) => (v === null ? '' : String(v))));
  io.stdout.write(
    `${alignedTable(
      columns.map((title) => ({ title })),
      text,
    ).join('\n')}\n`,
  );
  return EXIT_OK;
}

/** DuckDB gives BIGINT / HUGEINT values (e.g. `count(*)`) as bigint, which JSON cannot hold: a number
 * where it is exact, its decimal digits as a string beyond 2^53. */
function bigIntAsJson(_key: string, value: unknown): unknown {
  if (typeof value !== 'bigint') return value;
  return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
}

export async function runMerge(
  inputs: readonly string[],
  options: { out: string; force?: boolean },
  io: CliIo,
): Promise<number> {
  if (inputs.length === 0)
    throw new UsageError(
      'merge',
      '',
      'give the shard databases (.duckdb) or tables (.parquet, .csv) to merge',
    );
  if (!/\.(duckdb|parquet|csv)$/i.test(options.out))
    throw new UsageError('--out', '', `"${options.out}" must end in .duckdb, .parquet or .csv`);
  await checkOutputPath('--out', resolve(io.cwd, options.out), 'file', {
    force: options.force,
    log: (line) => void io.stderr.write(`deltasim: ${line}\n`),
  });
  const { mergeResults } = await import('../../sweep/merge.js');
  const report = await mergeResults(
    inputs.map((p) => ({ path: resolve(io.cwd, p), label: p })),
    resolve(io.cwd, options.out),
  );
  for (const line of report.problems) io.stderr.write(`deltasim: merge: ${line}\n`);
  io.stdout.write(
    `merged ${report.inputs} inputs: ${report.rows} results${report.expected !== undefined ? ` of ${report.expected} expected` : ''}, ${report.missing} missing, ${report.duplicates} duplicate → ${options.out}\n`,
  );
  return report.missing > 0 || report.duplicates > 0 ? EXIT_CHECK_FAILED : EXIT_OK;
}

export async function runSweepWorker(
  url: string,
  options: { workers?: string; exitWhenIdle?: string; lockSeconds?: string },
  io: CliIo,
): Promise<number> {
  const { parseRedisUrl, startQueueWorker } = await import('../../sweep/job-queue.js');
  const connection = parseRedisUrl(url, 'sweep-worker');
  const { defaultWorkers, createPointPool } = await import('../../sweep/point-pool.js');
  const workers = parseWorkers(options.workers, defaultWorkers());
  let idleSeconds: number | undefined;
  if (options.exitWhenIdle !== undefined) {
    if (!/^\d{1,5}(\.\d+)?$/.test(options.exitWhenIdle))
      throw new UsageError('--exit-when-idle', '', `"${options.exitWhenIdle}" is not a number of seconds`);
    idleSeconds = Number(options.exitWhenIdle);
  }
  let lockMs: number | undefined;
  if (options.lockSeconds !== undefined) {
    if (!/^\d{1,5}(\.\d+)?$/.test(options.lockSeconds) || Number(options.lockSeconds) < 0.2)
      throw new UsageError('--lock-seconds', '', `"${options.lockSeconds}" is not a number of seconds ≥ 0.2`);
    lockMs = Number(options.lockSeconds) * 1000;
  }
  const pool = await createPointPool(workers);
  const handle = await startQueueWorker(connection, pool, lockMs !== undefined ? { lockMs } : {});
  io.stderr.write(`deltasim: sweep-worker: ${workers} thread${workers > 1 ? 's' : ''} on ${url}\n`);
  const { controller, dispose } = interruptSignal();
  try {
    await new Promise<void>((resolveWait) => {
      controller.signal.addEventListener('abort', () => resolveWait());
      if (idleSeconds !== undefined) void handle.idle(idleSeconds * 1000).then(resolveWait);
    });
  } finally {
    dispose();
    await handle.close();
    await pool.close();
  }
  io.stderr.write(`deltasim: sweep-worker: ran ${handle.processed()} jobs\n`);
  return EXIT_OK;
}

export const sweepCommand: CommandModule = {
  register(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
    const sweep = program
      .command('sweep')
      .description(
        'Hardware design-space sweep: every design of a spec on its workloads, into a DuckDB file, Parquet/CSV and a Pareto plot',
      )
      .argument('<spec>', 'sweep spec (YAML or JSON, docs/sweeps.md)')
      .option(
        '--out <file>',
        'results table (.parquet or .csv; the other format is written beside it)',
        'results.parquet',
      )
      .option('--db <file>', `results database (default: ${SWEEP_DB_FILE} beside --out)`)
      .option(
        '--plot <file.svg>',
        'scatter of two objectives (latency vs energy by default) with their Pareto front',
      )
      .option(
        '--plot-x <objective>',
        "the plot's x axis: latency, energy, edp, area, pj-per-mac or speedup (default: the spec's plot.x, else latency)",
      )
      .option('--plot-y <objective>', "the plot's y axis (default: the spec's plot.y, else energy)")
      .option(
        '--color <param>',
        "parameter the plot colours by (default: the spec's plot.color, else the first)",
      )
      .option('--workers <n>', 'worker threads (default: the core count)')
      .option('--shard <i/n>', 'run only shard i of n (also SLURM_ARRAY_TASK_ID/COUNT, JOB_COMPLETION_INDEX)')
      .option('--shard-count <n>', 'shard count for a Kubernetes Indexed Job (JOB_COMPLETION_INDEX)')
      .option(
        '--queue <redis-url>',
        'enqueue the jobs in Redis (BullMQ) for `deltasim sweep-worker` processes',
      )
      .option('--json', 'NDJSON point events on stdout; the last line is the summary')
      .option('--ui <mode>', 'auto | tui | plain', 'auto')
      .option('--force', 'replace existing result tables and plot (the database is always resumed)')
      .action(async (spec, options) => {
        setExitCode(await runSweepCommand(spec, options, io));
      });
    sweep
      .command('query')
      .description('Run SQL on a sweep database (table `results`, one row per design and workload)')
      .argument('<db>', 'sweep.duckdb')
      .argument('<sql>', 'a query, e.g. "SELECT rows, cols, min(energyPj) FROM results GROUP BY ALL"')
      .option('--json', 'one JSON object per row')
      .action(async (db, sql, options) => {
        // `sweep` has its own --json, which commander gives the parent wherever it is written.
        const json = options.json === true || sweep.opts().json === true;
        setExitCode(await runSweepQuery(db, sql, { json }, io));
      });
  },
};

export const mergeCommand: CommandModule = {
  register(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
    program
      .command('merge')
      .description('Join sweep shards (databases or tables) into one, naming missing and duplicate points')
      .argument('<inputs...>', 'shard sweep.duckdb files, or .parquet/.csv tables')
      .requiredOption('--out <file>', 'merged .duckdb, .parquet or .csv')
      .option('--force', 'replace an existing --out file')
      .action(async (inputs, options) => {
        setExitCode(await runMerge(inputs, options, io));
      });
  },
};

export const sweepWorkerCommand: CommandModule = {
  register(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
    program
      .command('sweep-worker')
      .description('Run queued sweep jobs from Redis (a `sweep --queue` coordinator collects the results)')
      .argument('<redis-url>', 'redis://HOST:PORT')
      .option('--workers <n>', 'worker threads (default: the core count)')
      .option('--exit-when-idle <seconds>', 'stop once the queue has been empty this long')
      .option(
        '--lock-seconds <seconds>',
        "how long a job stays locked to this worker without renewal: a killed worker's job goes back to the queue after it (default 10)",
      )
      .action(async (url, options) => {
        setExitCode(await runSweepWorker(url, options, io));
      });
  },
};
