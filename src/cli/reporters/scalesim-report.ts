import { join } from 'node:path';
import { type ReplaceOptions, writeFileAtomic } from '../../common/atomic-write.js';
import type { ArrayShape, Dataflow } from '../../core/array.js';
import { mapGemm } from '../../core/dataflow-mapping.js';
import type { Gemm } from '../../core/gemm.js';
import { depthwiseChannelName } from '../../core/lowering.js';
import type { LayerReport } from '../../core/report.js';

/**
 * SCALE-Sim v2's COMPUTE_REPORT.csv, byte for byte, so its users can diff: same header, `, `
 * separators, trailing comma, Python's float formatting, and its conventions —
 * Total Cycles = ours − 1 (the index of the last cycle), Overall Util % over that figure, Mapping
 * Efficiency % and Compute Util % as the mean over folds (visited column fold outer, row fold inner,
 * summed in that order as Python's `sum` does, so the last digit matches too).
 */
export const COMPUTE_REPORT_HEADER =
  'LayerID, Total Cycles, Stall Cycles, Overall Util %, Mapping Efficiency %, Compute Util %,';

export interface ComputeReportLayer {
  readonly gemm: Gemm;
  /** Our cycles for one run of the GEMM (folds × cycles per fold + stalls). */
  readonly cycles: number;
  readonly stallCycles: number;
  /** Identical rows to print (a `DP` layer: one per channel, as SCALE-Sim lists them); default 1. */
  readonly count?: number;
}

/**
 * Most rows COMPUTE_REPORT.csv may get. A `DP` layer prints one row per channel, so a topology of a
 * few lines can ask for billions of rows; past this cap `--scalesim-report` is refused before the run.
 */
export const COMPUTE_REPORT_MAX_ROWS = 1_000_000;

/**
 * SCALE-Sim's layers behind one of our report layers: a topology `DP` layer (op `depthwise`, one
 * GEMM per channel) is one SCALE-Sim layer per channel; any other layer is one.
 */
export function scaleSimLayerCount(layer: LayerReport): number {
  return layer.op === 'depthwise' ? layer.gemms : 1;
}

/**
 * Our report's layers as SCALE-Sim lists them: a `DP` layer's channels one by one, named as
 * SCALE-Sim names them, each with one channel's share of the (identical) cycles.
 */
export function scaleSimLayers(layers: readonly LayerReport[]): ScaleSimLayer[] {
  return layers.flatMap((l) => {
    const count = scaleSimLayerCount(l);
    const { name, macs, folds, cycles, stallCycles } = l;
    if (l.op !== 'depthwise') return [{ name, macs, folds, cycles, stallCycles }];
    // Exact divisions: each figure is count × one channel's (core/report-total.ts repeatLayerReport).
    return Array.from({ length: count }, (_, i) => ({
      name: depthwiseChannelName(name, i),
      macs: macs / count,
      folds: folds / count,
      cycles: cycles / count,
      stallCycles: stallCycles / count,
    }));
  });
}

/** One SCALE-Sim layer's figures. */
export interface ScaleSimLayer {
  readonly name: string;
  readonly macs: number;
  readonly folds: number;
  readonly cycles: number;
  readonly stallCycles: number;
}

/** Rows the report of these layers would hold. */
export function computeReportRows(layers: readonly { readonly count?: number }[]): number {
  return layers.reduce((rows, l) => rows + (l.count ?? 1), 0);
}

/**
 * Python's `repr(float)`: the shortest digits that round-trip (as JavaScript's), written fixed when
 * the decimal exponent is in [-4, 16) — always with a fractional part — and as `d.ddde±XX` otherwise.
 */
export function pythonFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mantissa = '', expText = '0'] = x.toExponential().split('e');
  const exponent = Number(expText);
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace('-', '').replace('.', '');
  const sign = negative ? '-' : '';
  if (exponent < -4 || exponent >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = Math.abs(exponent).toString().padStart(2, '0');
    return `${sign}${m}e${exponent < 0 ? '-' : '+'}${e}`;
  }
  if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
  const intDigits = exponent + 1;
  if (digits.length <= intDigits) return `${sign}${digits.padEnd(intDigits, '0')}.0`;
  return `${sign}${digits.slice(0, intDigits)}.${digits.slice(intDigits)}`;
}

/**
 * The cycles SCALE-Sim divides by for a fold's compute utilisation: the length of its per-fold
 * demand matrix plus its width minus one. For OS that is the fold's own time, T + R + C − 2; for WS
 * and IS its demand matrix is C − 1 rows longer than the fold, giving 2R + 2C + T − 3 (a quirk of
 * SCALE-Sim kept here for parity; our own utilisation never uses it).
 */
function computeUtilCycles(temporal: number, array: ArrayShape, dataflow: Dataflow): number {
  const { rows, cols } = array;
  return dataflow === 'os' ? temporal + rows + cols - 2 : 2 * rows + 2 * cols + temporal - 3;
}

export function computeReportRow(layer: ComputeReportLayer, array: ArrayShape, dataflow: Dataflow): string[] {
  const mapping = mapGemm(layer.gemm, array, dataflow);
  const { rows, cols } = array;
  const pes = rows * cols;
  const utilCycles = computeUtilCycles(mapping.temporal, array, dataflow);
  let mappingSum = 0;
  let computeSum = 0;
  for (let fc = 0; fc < mapping.colFolds; fc++) {
    const colUsed = Math.min(cols, mapping.spatialCols - fc * cols);
    for (let fr = 0; fr < mapping.rowFolds; fr++) {
      const rowUsed = Math.min(rows, mapping.spatialRows - fr * rows);
      const macUsed = rowUsed * colUsed;
      mappingSum += macUsed / pes;
      computeSum += (macUsed * mapping.temporal) / (pes * utilCycles);
    }
  }
  const totalCycles = layer.cycles - 1;
  const macs = layer.gemm.m * layer.gemm.n * layer.gemm.k;
  const overallUtil = (macs * 100) / (totalCycles * pes);
  return [
    String(totalCycles),
    String(layer.stallCycles),
    pythonFloatRepr(overallUtil),
    pythonFloatRepr((mappingSum / mapping.folds) * 100),
    pythonFloatRepr((computeSum / mapping.folds) * 100),
  ];
}

export function formatComputeReport(
  layers: readonly ComputeReportLayer[],
  array: ArrayShape,
  dataflow: Dataflow,
): string {
  const lines = [`${COMPUTE_REPORT_HEADER}\n`];
  let id = 0;
  for (const layer of layers) {
    const row = `, ${computeReportRow(layer, array, dataflow).join(', ')},\n`;
    for (let i = 0; i < (layer.count ?? 1); i++) lines.push(`${id++}${row}`);
  }
  return lines.join('');
}

export const COMPUTE_REPORT_FILE = 'COMPUTE_REPORT.csv';

/** Writes `<dir>/COMPUTE_REPORT.csv` atomically (an existing one only with `overwrite`); returns its path. */
export async function writeComputeReport(
  dir: string,
  layers: readonly ComputeReportLayer[],
  array: ArrayShape,
  dataflow: Dataflow,
  options: ReplaceOptions,
): Promise<string> {
  const path = join(dir, COMPUTE_REPORT_FILE);
  await writeFileAtomic(path, formatComputeReport(layers, array, dataflow), options);
  return path;
}
