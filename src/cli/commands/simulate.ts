import { join, resolve } from 'node:path';
import { type Command, Option } from '@commander-js/extra-typings';
import { loadHardware } from '../../config/hardware-file.js';
import { loadTopology, TopologyError } from '../../config/topology.js';
import { type DenseRunConfig, simulateDense } from '../../core/dense-engine.js';
import type { RunEvent } from '../../core/events.js';
import { denseBaselineOf, type HardwareModel } from '../../core/hardware.js';
import { type LoweredLayer, lowerTopology } from '../../core/lowering.js';
import { SCALESIM_DEFAULT } from '../../core/presets.js';
import type { LayerReport, Report } from '../../core/report.js';
import { inexactReport } from '../../core/report-total.js';
import { modelDenseLayer } from '../../core/sparse/dense-workload.js';
import { parseHardwareFlags } from '../hardware-flags.js';
import { type CliIo, EXIT_OK } from '../io.js';
import { checkOutputPath } from '../output-path.js';
import type { CommandModule } from '../program.js';
import type { Reporter } from '../reporters/reporter.js';
import { COMPUTE_REPORT_FILE, computeReportRows, writeComputeReport } from '../reporters/scalesim-report.js';
import { chooseReporterKind, parseUiMode, selectReporter } from '../reporters/select-reporter.js';
import { VERSION } from '../version.js';
import { checkComputeReportRows, streamSimulate } from './simulate-stream.js';

export interface SimulateOptions {
  readonly topology: string;
  readonly gemm?: boolean;
  readonly config?: string;
  readonly array?: string;
  readonly dataflow?: string;
  readonly precision?: string;
  readonly json?: boolean;
  /** auto | tui | plain (select-reporter.ts); --json wins. */
  readonly ui?: string;
  readonly scalesimReport?: string;
  /** Replace an existing COMPUTE_REPORT.csv. */
  readonly force?: boolean;
}

/** Command-line values override the config file's, which override SCALE-Sim's defaults. */
export async function resolveHardware(options: SimulateOptions, cwd: string): Promise<HardwareModel> {
  // Flags are checked before any file is read, so a usage error never waits on I/O.
  const flags = parseHardwareFlags(options);
  const base =
    options.config !== undefined
      ? await loadHardware(resolve(cwd, options.config), options.config)
      : SCALESIM_DEFAULT;
  return { ...base, ...flags };
}

/**
 * The run configuration `simulate` uses: SCALE-Sim's dense timing, with every layer charged through
 * the replay memory / stall / energy model (docs/model.md, "Energy (dense)") on the same hardware
 * model `replay` uses. Sparsity support is off whatever the file says: a topology has no data.
 */
export function simulateRunConfig(
  hardware: HardwareModel,
  sources: readonly string[],
  toolVersion: string,
): DenseRunConfig {
  const model = denseBaselineOf(hardware);
  return {
    array: model.array,
    dataflow: model.dataflow,
    precision: model.precision,
    energyTable: model.energy,
    clockHz: model.clockHz,
    hardwareName: model.name,
    toolVersion,
    sources,
    layerModel: sameShapeOnce((lowered) => modelDenseLayer(lowered, model)),
  };
}

/** Distinct layer shapes remembered by sameShapeOnce; past it the memory starts over. */
const SHAPE_CACHE_ENTRIES = 4096;

/**
 * Models each distinct layer shape once: a dense layer's report depends on its geometry and op,
 * never its name, so rows repeating a shape (a long topology mostly does) reuse the first one's
 * figures under their own name. The nested figures are shared, which also keeps a long run's
 * reports small.
 */
function sameShapeOnce(
  model: (lowered: LoweredLayer) => LayerReport,
): (lowered: LoweredLayer) => LayerReport {
  const cache = new Map<string, LayerReport>();
  return (lowered) => {
    const l = lowered.layer;
    const key = `${lowered.op} ${l.ifmapHeight} ${l.ifmapWidth} ${l.filterHeight} ${l.filterWidth} ${l.channels} ${l.numFilters} ${l.strideHeight} ${l.strideWidth}`;
    let report = cache.get(key);
    if (!report) {
      if (cache.size >= SHAPE_CACHE_ENTRIES) cache.clear();
      report = model(lowered);
      cache.set(key, report);
    }
    return report.name === lowered.name ? report : { ...report, name: lowered.name };
  };
}

export async function runSimulate(options: SimulateOptions, io: CliIo): Promise<number> {
  const ui = parseUiMode(options.ui);
  const hardware = await resolveHardware(options, io.cwd);
  const force = options.force === true;
  const reportDir =
    options.scalesimReport === undefined ? undefined : resolve(io.cwd, options.scalesimReport);
  if (reportDir !== undefined) {
    await checkOutputPath('--scalesim-report', join(reportDir, COMPUTE_REPORT_FILE), 'file', {
      force,
      log: (line) => io.stderr.write(`deltasim: ${line}\n`),
    });
  }
  const kind = options.gemm ? 'gemm' : 'conv';
  const json = options.json === true;
  const config = simulateRunConfig(hardware, [options.topology], VERSION);
  const computeReport =
    reportDir === undefined
      ? undefined
      : {
          dir: reportDir,
          array: hardware.array,
          dataflow: hardware.dataflow,
          overwrite: force,
          flag: '--scalesim-report',
        };
  const path = resolve(io.cwd, options.topology);
  if (chooseReporterKind({ ui, json, io }) !== 'tui') {
    // Plain and JSON stream: memory independent of the topology's length, nothing printed on bad input.
    await streamSimulate(
      { path, kind, source: options.topology, config, json, ...(computeReport ? { computeReport } : {}) },
      io,
    );
    return EXIT_OK;
  }
  // The dashboard keeps a row per layer anyway: it runs the topology in memory.
  const lowered = lowerTopology(await loadTopology(path, kind, options.topology), kind);
  if (computeReport) checkComputeReportRows(computeReport.flag, computeReportRows(lowered));
  const reporter = await selectReporter({ ui, json, io, runs: 1 });
  await runLive(simulateDense(lowered, config), reporter, async (report) => {
    const inexact = inexactReport(report.layers, report.total);
    if (inexact) throw new TopologyError(options.topology, inexact[0], inexact[1]);
    if (computeReport === undefined) return;
    await writeComputeReport(
      computeReport.dir,
      lowered.map((l, i) => ({
        gemm: l.gemm,
        // Exact: the layer's figures are count × one run's, safe integers (inexactReport).
        cycles: report.layers[i]!.cycles / l.count,
        stallCycles: report.layers[i]!.stallCycles / l.count,
        count: l.count,
      })),
      computeReport.array,
      computeReport.dataflow,
      { overwrite: force },
    );
  });
  return EXIT_OK;
}

/**
 * The dashboard sees each event as it is produced, and the event loop turns after every layer so
 * it can draw and read `q`. The success event (run-done) waits for the SCALE-Sim report.
 */
export async function runLive(
  run: Generator<RunEvent, Report, void>,
  reporter: Reporter,
  afterRun: (report: Report) => Promise<void>,
): Promise<void> {
  try {
    let done: RunEvent | undefined;
    for (;;) {
      const step = run.next();
      if (step.done) {
        await afterRun(step.value);
        if (done) reporter.onEvent(done, 0);
        break;
      }
      if (step.value.type === 'run-done') {
        done = step.value;
        continue;
      }
      reporter.onEvent(step.value, 0);
      if (step.value.type === 'layer-done') await new Promise((r) => setImmediate(r));
    }
  } finally {
    await reporter.finish();
  }
}

export const simulateCommand: CommandModule = {
  register(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
    program
      .command('simulate')
      .description('Dense timing of a SCALE-Sim topology on a systolic array (SCALE-Sim v2 parity)')
      .requiredOption('--topology <file>', 'SCALE-Sim topology CSV (conv rows, or Layer,M,N,K with --gemm)')
      .option('--gemm', 'the topology is a GEMM file (Layer, M, N, K)')
      .option('--config <file>', 'SCALE-Sim .cfg, or a deltasim hardware file (.yaml, .yml, .json)')
      .option('--array <RxC>', 'array rows x columns, e.g. 32x32 (overrides the config)')
      .addOption(new Option('--dataflow <df>', 'os | ws | is (overrides the config)'))
      .addOption(new Option('--precision <p>', 'int8 | fp16 | fp32: word size and MAC energy (default int8)'))
      .option('--json', 'NDJSON events on stdout; the last line is the report')
      .option(
        '--ui <mode>',
        'auto | tui | plain: auto shows the dashboard on an interactive terminal',
        'auto',
      )
      .option('--scalesim-report <dir>', "also write SCALE-Sim's COMPUTE_REPORT.csv into <dir>")
      .option('--force', 'replace an existing COMPUTE_REPORT.csv')
      .action(async (options) => {
        setExitCode(await runSimulate(options, io));
      });
  },
};
