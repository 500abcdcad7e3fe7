import type { RunEvent } from '../../core/events.js';
import type { LayerReport, Report, ReportTotal } from '../../core/report.js';
import type { CliIo } from '../io.js';
import { alignedTable, type TableColumn } from './aligned-table.js';
import type { Reporter } from './reporter.js';
import { scaleSimLayerCount } from './scalesim-report.js';

/** Digits grouped by thousands with commas, independent of the machine's locale. */
export function groupThousands(n: number): string {
  const [whole = '', fraction] = String(n).split('.');
  const sign = whole.startsWith('-') ? '-' : '';
  const digits = sign ? whole.slice(1) : whole;
  const grouped = digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${sign}${grouped}${fraction !== undefined ? `.${fraction}` : ''}`;
}

/** Picojoules in the largest unit that keeps the figure ≥ 1 (pJ, nJ, µJ, mJ, J). */
export function formatEnergy(pj: number): string {
  const units = ['pJ', 'nJ', 'µJ', 'mJ', 'J'] as const;
  let value = pj;
  let i = 0;
  while (Math.abs(value) >= 1000 && i < units.length - 1) {
    value /= 1000;
    i++;
  }
  return `${value.toFixed(value >= 100 ? 1 : 2)} ${units[i]}`;
}

const percent = (x: number): string => (x * 100).toFixed(2);

interface Column extends TableColumn {
  readonly cell: (l: LayerReport) => string;
}

export const PLAIN_COLUMNS: readonly Column[] = [
  { title: 'layer', left: true, cell: (l) => l.name },
  { title: 'MACs', cell: (l) => groupThousands(l.macs) },
  { title: 'folds', cell: (l) => groupThousands(l.folds) },
  { title: 'cycles', cell: (l) => groupThousands(l.cycles) },
  { title: 'util %', cell: (l) => percent(l.utilization) },
  { title: 'map eff %', cell: (l) => percent(l.mappingEfficiency) },
  { title: 'energy', cell: (l) => formatEnergy(l.energyPj.total) },
];

export function plainRow(layer: LayerReport): string[] {
  return PLAIN_COLUMNS.map((c) => c.cell(layer));
}

export function plainTotalRow(total: ReportTotal): string[] {
  return [
    'total',
    groupThousands(total.macs),
    groupThousands(total.folds),
    groupThousands(total.cycles),
    percent(total.utilization),
    '',
    formatEnergy(total.energyPj.total),
  ];
}

/** What a layer adds to SCALE-Sim's Total Cycles: cycles − 1 for each of its SCALE-Sim layers (a DP layer is one per channel). */
export function scaleSimCycles(layer: LayerReport): number {
  return layer.cycles - scaleSimLayerCount(layer);
}

export function plainHeaderLines(report: Pick<Report, 'sources' | 'hardware'>): string[] {
  const { hardware } = report;
  const clock = hardware.clockHz ? `, ${hardware.clockHz / 1e9} GHz` : '';
  return [
    `topology  ${report.sources.join(', ')}`,
    `hardware  ${hardware.name}: ${hardware.rows}x${hardware.cols} array, dataflow ${hardware.dataflow}, ${hardware.precision ?? 'int8'}${clock}`,
    '',
  ];
}

export function plainFooterLines(scaleSimTotal: number): string[] {
  return [
    '',
    `cycles = folds x cycles per fold; SCALE-Sim's Total Cycles = cycles - 1 per layer (sum ${groupThousands(scaleSimTotal)})`,
  ];
}

/** The whole table for one report: header, one aligned row per layer, a totals row. */
export function formatPlainReport(report: Report): string {
  const scaleSimTotal = report.layers.reduce((sum, l) => sum + scaleSimCycles(l), 0);
  const out = [
    ...plainHeaderLines(report),
    ...alignedTable(PLAIN_COLUMNS, report.layers.map(plainRow), plainTotalRow(report.total)),
    ...plainFooterLines(scaleSimTotal),
  ];
  return `${out.join('\n')}\n`;
}

/** Plain text: the report's table once the run is done (a dense run takes milliseconds). */
export class PlainReporter implements Reporter {
  constructor(private readonly io: CliIo) {}

  onEvent(event: RunEvent): void {
    if (event.type === 'run-done') this.io.stdout.write(formatPlainReport(event.report));
  }

  async finish(): Promise<void> {}
}
