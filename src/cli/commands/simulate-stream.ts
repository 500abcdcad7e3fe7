import { UsageError } from '../../common/input-error.js';
import { readTopology, TopologyError } from '../../config/topology.js';
import type { ArrayShape, Dataflow } from '../../core/array.js';
import { type DenseRunConfig, denseRunLayer, hardwareSummary } from '../../core/dense-engine.js';
import { type RunEvent, runEvents } from '../../core/events.js';
import { gemmMacs } from '../../core/gemm.js';
import { expandTopology, type LoweredLayer, lowerLayer } from '../../core/lowering.js';
import type { HardwareSummary, LayerReport, Report, ReportTotal } from '../../core/report.js';
import { inexactLayer, inexactTotal, RunningTotal } from '../../core/report-total.js';
import type { TopologyKind } from '../../core/topology-layer.js';
import type { CliIo } from '../io.js';
import { columnWidths, tableLine, tableRule } from '../reporters/aligned-table.js';
import {
  PLAIN_COLUMNS,
  plainFooterLines,
  plainHeaderLines,
  plainRow,
  plainTotalRow,
  scaleSimCycles,
} from '../reporters/plain.js';
import {
  COMPUTE_REPORT_MAX_ROWS,
  type ComputeReportLayer,
  writeComputeReport,
} from '../reporters/scalesim-report.js';

/**
 * `simulate`'s plain and `--json` output, streamed: memory does not grow with the topology's row
 * count. Nothing is kept between layers; instead the topology file is read again for each part of
 * the output that lists every layer (each pass is deterministic, so every pass sees the same
 * layers). The first pass checks everything — rows, exact counts, the SCALE-Sim report's size —
 * and keeps only running totals, so bad input fails before a byte is printed; the later passes write.
 * The output is byte for byte what the in-memory run (dense-engine.ts `simulateDense` through the
 * JSON or plain reporter) prints.
 */
export interface StreamedSimulate {
  readonly path: string;
  readonly kind: TopologyKind;
  /** The topology as the user typed it, for errors and the report's `sources`. */
  readonly source: string;
  readonly config: DenseRunConfig;
  readonly json: boolean;
  /** Where to write SCALE-Sim's COMPUTE_REPORT.csv (after the check, before any output). */
  readonly computeReport?: {
    readonly dir: string;
    readonly array: ArrayShape;
    readonly dataflow: Dataflow;
    readonly overwrite: boolean;
    /** The flag named in the error when the report would be too long. */
    readonly flag: string;
  };
}

interface PassLayer {
  readonly lowered: LoweredLayer;
  readonly layer: LayerReport;
}

/** One pass over the topology file: each layer lowered and reported, in file order. */
async function* layerPass(run: StreamedSimulate): AsyncGenerator<PassLayer, void, void> {
  for await (const batch of readTopology(run.path, run.kind, run.source)) {
    for (const { layer, op, count } of expandTopology(batch, run.kind)) {
      const lowered = lowerLayer(layer, op, count);
      yield { lowered, layer: denseRunLayer(lowered, run.config) };
    }
  }
}

/** Bytes gathered before one write to stdout; writes wait for `drain`, so the pipe bounds memory. */
const WRITE_CHUNK_CHARS = 64 * 1024;

class ChunkedWriter {
  private pending = '';

  constructor(private readonly out: CliIo['stdout']) {}

  async write(text: string): Promise<void> {
    this.pending += text;
    if (this.pending.length >= WRITE_CHUNK_CHARS) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.pending === '') return;
    const accepted = this.out.write(this.pending);
    this.pending = '';
    const drainable = this.out as { once?: (event: 'drain', listener: () => void) => unknown };
    if (accepted === false && typeof drainable.once === 'function') {
      await new Promise<void>((resolve) => drainable.once!('drain', resolve));
    }
  }
}

/** `JSON.stringify(value)` cut around its empty array `key`, for the items to be written in between. */
function aroundArray(value: object, key: string): readonly [string, string] {
  const text = JSON.stringify(value);
  const marker = `"${key}":[]`;
  const at = text.indexOf(marker);
  return [text.slice(0, at + marker.length - 1), text.slice(at + marker.length - 1)];
}

/** A COMPUTE_REPORT.csv longer than its cap is refused before anything is written. */
export function checkComputeReportRows(flag: string, rows: number): void {
  if (rows > COMPUTE_REPORT_MAX_ROWS) {
    throw new UsageError(
      flag,
      '',
      `the topology lists ${rows} SCALE-Sim layers (a DP layer one per channel); COMPUTE_REPORT.csv holds at most ${COMPUTE_REPORT_MAX_ROWS} rows`,
    );
  }
}

interface Checked {
  readonly total: ReportTotal;
  readonly widths: readonly number[];
  readonly scaleSimTotal: number;
}

/** Pass 1: every check and the running figures; throws (before any output) on the first problem. */
async function check(run: StreamedSimulate): Promise<Checked> {
  const running = new RunningTotal();
  let widths = PLAIN_COLUMNS.map((c) => c.title.length);
  let scaleSimTotal = 0;
  let rows = 0;
  const reportLayers: ComputeReportLayer[] = [];
  for await (const { lowered, layer } of layerPass(run)) {
    const inexact = inexactLayer(layer);
    if (inexact) throw new TopologyError(run.source, inexact[0], inexact[1]);
    running.add(layer);
    if (!run.json) {
      widths = columnWidths(PLAIN_COLUMNS, [plainRow(layer)], widths);
      scaleSimTotal += scaleSimCycles(layer);
    }
    if (run.computeReport) {
      rows += lowered.count;
      // Past the cap the run is refused below; until then the rows are kept for the report.
      if (rows <= COMPUTE_REPORT_MAX_ROWS) {
        reportLayers.push({
          gemm: lowered.gemm,
          // Exact: the layer's figures are count × one run's, safe integers (checked above).
          cycles: layer.cycles / lowered.count,
          stallCycles: layer.stallCycles / lowered.count,
          count: lowered.count,
        });
      }
    }
  }
  if (run.computeReport) checkComputeReportRows(run.computeReport.flag, rows);
  const total = running.total(run.config.array);
  const inexact = inexactTotal(total);
  if (inexact) throw new TopologyError(run.source, inexact[0], inexact[1]);
  if (run.computeReport) {
    const { dir, array, dataflow, overwrite } = run.computeReport;
    await writeComputeReport(dir, reportLayers, array, dataflow, { overwrite });
  }
  const totalRow = plainTotalRow(total);
  return { total, widths: columnWidths(PLAIN_COLUMNS, [totalRow], widths), scaleSimTotal };
}

export async function streamSimulate(run: StreamedSimulate, io: CliIo): Promise<void> {
  const checked = await check(run);
  const out = new ChunkedWriter(io.stdout);
  const hardware: HardwareSummary = hardwareSummary(run.config);
  const sources = run.config.sources;
  if (run.json) await writeJson(run, checked, hardware, sources, out);
  else await writePlain(run, checked, { sources, hardware }, out);
  await out.flush();
}

async function writePlain(
  run: StreamedSimulate,
  checked: Checked,
  head: Pick<Report, 'sources' | 'hardware'>,
  out: ChunkedWriter,
): Promise<void> {
  const { widths } = checked;
  const line = (cells: readonly string[]): string => `${tableLine(PLAIN_COLUMNS, widths, cells)}\n`;
  const rule = `${tableRule(widths)}\n`;
  for (const text of plainHeaderLines(head)) await out.write(`${text}\n`);
  await out.write(line(PLAIN_COLUMNS.map((c) => c.title)));
  await out.write(rule);
  for await (const { layer } of layerPass(run)) await out.write(line(plainRow(layer)));
  await out.write(rule);
  await out.write(line(plainTotalRow(checked.total)));
  for (const text of plainFooterLines(checked.scaleSimTotal)) await out.write(`${text}\n`);
}

async function writeJson(
  run: StreamedSimulate,
  checked: Checked,
  hardware: HardwareSummary,
  sources: readonly string[],
  out: ChunkedWriter,
): Promise<void> {
  const start: RunEvent = { type: 'run-start', command: 'simulate', sources, hardware, layers: [], steps: 1 };
  const [startHead, startTail] = aroundArray(start, 'layers');
  await out.write(startHead);
  let first = true;
  for await (const { lowered } of layerPass(run)) {
    const entry = { name: lowered.name, op: lowered.op, macs: gemmMacs(lowered.gemm) * lowered.count };
    await out.write(`${first ? '' : ','}${JSON.stringify(entry)}`);
    first = false;
  }
  await out.write(`${startTail}\n`);
  let index = 0;
  for await (const { layer } of layerPass(run)) {
    // The events simulateDense sends, from the one emitter: a topology layer is one step.
    const events = [
      runEvents.layerStart(index, layer.name),
      runEvents.stepDone(index, 1, 1, layer),
      runEvents.layerDone(index, layer),
    ];
    for (const event of events) await out.write(`${JSON.stringify(event)}\n`);
    index++;
  }
  const report: Report = {
    tool: 'deltasim',
    version: run.config.toolVersion,
    command: 'simulate',
    sources,
    hardware,
    layers: [],
    total: checked.total,
  };
  const [reportHead, reportTail] = aroundArray(report, 'layers');
  const done = runEvents.runDone(report);
  const [doneHead, doneTail] = aroundArray(done, 'layers');
  // The run-done event carries the report, then the summary line is the report itself.
  for (const [head, tail] of [
    [doneHead, doneTail],
    [reportHead, reportTail],
  ] as const) {
    await out.write(head);
    let comma = false;
    for await (const { layer } of layerPass(run)) {
      await out.write(`${comma ? ',' : ''}${JSON.stringify(layer)}`);
      comma = true;
    }
    await out.write(`${tail}\n`);
  }
}
