import type { CliIo } from '../cli/io.js';
import { alignedTable, type TableColumn } from '../cli/reporters/aligned-table.js';
import { formatEnergy, groupThousands } from '../cli/reporters/plain.js';
import type { Reporter } from '../cli/reporters/reporter.js';
import type { RunEvent } from '../core/events.js';
import {
  ENERGY_COMPONENTS,
  type EnergyPj,
  type LayerReport,
  type Report,
  type ReportTotal,
} from '../core/report.js';

interface Column extends TableColumn {
  readonly cell: (l: LayerReport | (ReportTotal & { name: string; op: string })) => string;
}

const times = (r: number): string => `${r.toFixed(2)}x`;
const pjPerMac = (e: EnergyPj, macs: number): string => (macs > 0 ? (e.total / macs).toFixed(3) : '-');

const COLUMNS: readonly Column[] = [
  { title: 'layer', left: true, cell: (l) => l.name },
  { title: 'op', left: true, cell: (l) => l.op },
  { title: 'MACs', cell: (l) => groupThousands(l.macs) },
  { title: 'executed', cell: (l) => groupThousands(l.executedMacs) },
  { title: 'gated', cell: (l) => groupThousands(l.gatedMacs) },
  { title: 'skip act', cell: (l) => groupThousands(l.skippedMacs.zeroActivation) },
  { title: 'skip wgt', cell: (l) => groupThousands(l.skippedMacs.zeroWeight) },
  { title: 'skip Δ', cell: (l) => groupThousands(l.skippedMacs.zeroDelta) },
  { title: 'skip struct', cell: (l) => groupThousands(l.skippedMacs.structural) },
  { title: 'baseline cycles', cell: (l) => groupThousands(l.baselineCycles) },
  { title: 'cycles', cell: (l) => groupThousands(l.cycles) },
  { title: 'speedup', cell: (l) => times(l.speedup) },
  { title: 'compute speedup', cell: (l) => times(l.computeSpeedup) },
  { title: 'stalls', cell: (l) => groupThousands(l.stallCycles) },
  { title: 'DRAM bytes', cell: (l) => groupThousands(Math.round(l.dramBytes)) },
  { title: 'energy', cell: (l) => formatEnergy(l.energyPj.total) },
  { title: 'pJ/MAC', cell: (l) => pjPerMac(l.energyPj, l.macs) },
];

/** One replay report: header, per-layer table, totals vs the dense baseline, energy breakdown. */
export function formatReplayReport(report: Report): string {
  const { hardware: hw, total } = report;
  const rows = report.layers.map((l) => COLUMNS.map((c) => c.cell(l)));
  const totalRow = COLUMNS.map((c) => c.cell({ ...total, name: 'total', op: '' }));
  const clock = hw.clockHz ? `, ${hw.clockHz / 1e6} MHz` : '';
  const breakdown = ENERGY_COMPONENTS.filter((k) => total.energyPj[k] !== undefined)
    .map((k) => `${k} ${formatEnergy(total.energyPj[k]!)}`)
    .join(', ');
  const executedShare = total.macs > 0 ? ((100 * total.executedMacs) / total.macs).toFixed(1) : '0';
  return `${[
    `trace     ${report.sources.join(', ')}`,
    `hardware  ${hw.name}: ${hw.rows}x${hw.cols} array, dataflow ${hw.dataflow}, ${hw.precision ?? ''}${clock}`,
    '',
    ...alignedTable(COLUMNS, rows, totalRow),
    '',
    `vs dense: ${executedShare} % of MACs executed; same hardware with sparsity off, same memory: ${groupThousands(total.baselineCycles)} → ${groupThousands(total.cycles)} cycles (speedup ${times(total.speedup)}; ${groupThousands(total.stallCycles)} of them memory stalls); compute only ${groupThousands(total.baselineComputeCycles)} → ${groupThousands(total.computeCycles)} (compute speedup ${times(total.computeSpeedup)})`,
    `memory:   ${levelLine(total)}`,
    `energy:   ${formatEnergy(total.energyPj.total)} = ${breakdown}; ${pjPerMac(total.energyPj, total.macs)} pJ per dense MAC (baseline ${formatEnergy(total.baselineEnergyPj)})`,
  ].join('\n')}\n`;
}

/** DRAM bytes (and what residency saved), then each level's share of the steps it bounded. */
function levelLine(total: ReportTotal): string {
  const saved =
    total.residentSavedDramBytes > 0
      ? ` (${groupThousands(Math.round(total.residentSavedDramBytes))} saved by residency)`
      : '';
  const levels = (total.levels ?? [])
    .filter((l) => l.readBytes + l.writeBytes > 0)
    .map(
      (l) =>
        `${l.name} ${groupThousands(Math.round(l.readBytes + l.writeBytes))} B${l.boundSteps > 0 ? ` (bound ${l.boundSteps} steps)` : ''}`,
    )
    .join(', ');
  return `DRAM ${groupThousands(Math.round(total.dramBytes))} B${saved} vs baseline ${groupThousands(Math.round(total.baselineDramBytes))} B; ${levels}`;
}

/** Several hardware configurations over the same trace, one row each. */
export function formatComparison(reports: readonly Report[]): string {
  const columns = [
    { title: 'hardware', left: true },
    { title: 'trace', left: true },
    { title: 'array', left: true },
    { title: 'flow', left: true },
    { title: 'executed %', left: false },
    { title: 'baseline cycles', left: false },
    { title: 'cycles', left: false },
    { title: 'speedup', left: false },
    { title: 'compute speedup', left: false },
    { title: 'stalls', left: false },
    { title: 'DRAM bytes', left: false },
    { title: 'time', left: false },
    { title: 'energy', left: false },
    { title: 'pJ/MAC', left: false },
  ];
  const rows = reports.map((r) => {
    const t = r.total;
    const seconds = r.hardware.clockHz ? t.cycles / r.hardware.clockHz : undefined;
    return [
      r.hardware.name,
      r.sources.join(', '),
      `${r.hardware.rows}x${r.hardware.cols}`,
      r.hardware.dataflow,
      t.macs > 0 ? ((100 * t.executedMacs) / t.macs).toFixed(1) : '-',
      groupThousands(t.baselineCycles),
      groupThousands(t.cycles),
      times(t.speedup),
      times(t.computeSpeedup),
      groupThousands(t.stallCycles),
      groupThousands(Math.round(t.dramBytes)),
      seconds === undefined ? '-' : `${(seconds * 1e3).toFixed(3)} ms`,
      formatEnergy(t.energyPj.total),
      pjPerMac(t.energyPj, t.macs),
    ];
  });
  return `${['side by side', ...alignedTable(columns, rows)].join('\n')}\n`;
}

/** Plain text for replay: each run's table as it finishes, then a comparison when there were several. */
export class ReplayPlainReporter implements Reporter {
  private readonly reports: Report[] = [];

  constructor(private readonly io: CliIo) {}

  onEvent(event: RunEvent): void {
    if (event.type !== 'run-done') return;
    if (this.reports.length > 0) this.io.stdout.write('\n');
    this.io.stdout.write(formatReplayReport(event.report));
    this.reports.push(event.report);
  }

  async finish(): Promise<void> {
    if (this.reports.length > 1) this.io.stdout.write(`\n${formatComparison(this.reports)}`);
  }
}
