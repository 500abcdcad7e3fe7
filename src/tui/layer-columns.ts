import type { SkippedMacs } from '../core/report.js';
import type { LayerRow } from './dashboard-state.js';
import { formatCount, formatEnergyPj, formatPercent, formatPjPerMac, formatRatio } from './format.js';
import {
  computeSpeedup,
  executedShare,
  pjPerMac,
  type SortKey,
  skippedTotal,
  speedup,
} from './layer-metrics.js';

/**
 * The layer table's columns. Each has a fixed width and a priority: on a narrow terminal the
 * lowest-priority columns are dropped whole rather than letting rows wrap (wrapped rows garble the
 * live frame).
 */
export interface LayerColumn {
  readonly id: string;
  readonly header: string;
  readonly width: number;
  readonly align: 'left' | 'right';
  /** Lower keeps longer when the terminal narrows. */
  readonly priority: number;
  /** The sort key this column shows, marked in its header while active. */
  readonly sortKey?: SortKey;
  cell(row: LayerRow): string;
}

const SKIP_HEADERS: Readonly<Record<keyof SkippedMacs, string>> = {
  zeroActivation: 'skip act',
  zeroWeight: 'skip wgt',
  zeroDelta: 'skip Δ',
  structural: 'skip str',
};

/** The name column fits the longest name within these bounds. */
const NAME_WIDTH_MIN = 10;
const NAME_WIDTH_MAX = 28;

export function nameWidthFor(names: readonly string[]): number {
  return Math.max(NAME_WIDTH_MIN, Math.min(NAME_WIDTH_MAX, Math.max(0, ...names.map((name) => name.length))));
}

export function layerColumns(
  skipReasons: readonly (keyof SkippedMacs)[],
  nameWidth = NAME_WIDTH_MIN,
): readonly LayerColumn[] {
  const done = (row: LayerRow, show: (report: NonNullable<LayerRow['report']>) => string): string =>
    row.report ? show(row.report) : '';
  return [
    {
      id: 'index',
      header: '#',
      width: 3,
      align: 'right',
      priority: 0,
      sortKey: 'order',
      cell: (row) => String(row.index + 1),
    },
    { id: 'name', header: 'layer', width: nameWidth, align: 'left', priority: 0, cell: (row) => row.name },
    { id: 'op', header: 'op', width: 9, align: 'left', priority: 6, cell: (row) => row.op },
    {
      id: 'macs',
      header: 'MACs',
      width: 7,
      align: 'right',
      priority: 2,
      sortKey: 'macs',
      cell: (row) => formatCount(row.macs),
    },
    {
      id: 'executed',
      header: 'exec',
      width: 6,
      align: 'right',
      priority: 1,
      sortKey: 'executed',
      cell: (row) => done(row, (r) => formatPercent(executedShare(r))),
    },
    ...(skipReasons.length === 0
      ? [
          {
            id: 'skipped',
            header: 'skipped',
            width: 7,
            align: 'right',
            priority: 4,
            cell: (row: LayerRow) => done(row, (r) => formatCount(skippedTotal(r.skippedMacs))),
          } satisfies LayerColumn,
        ]
      : skipReasons.map(
          (reason) =>
            ({
              id: `skip-${reason}`,
              header: SKIP_HEADERS[reason],
              width: 8,
              align: 'right',
              priority: 4,
              cell: (row: LayerRow) => done(row, (r) => formatCount(r.skippedMacs[reason])),
            }) satisfies LayerColumn,
        )),
    {
      id: 'baselineCycles',
      header: 'base cyc',
      width: 9,
      align: 'right',
      priority: 3,
      cell: (row) => done(row, (r) => formatCount(r.baselineCycles)),
    },
    {
      id: 'cycles',
      header: 'cycles',
      width: 7,
      align: 'right',
      priority: 1,
      sortKey: 'cycles',
      cell: (row) => done(row, (r) => formatCount(r.cycles)),
    },
    {
      id: 'speedup',
      header: 'speedup',
      width: 8,
      align: 'right',
      priority: 2,
      sortKey: 'speedup',
      cell: (row) => done(row, (r) => formatRatio(speedup(r))),
    },
    {
      id: 'computeSpeedup',
      header: 'cmp spd',
      width: 8,
      align: 'right',
      priority: 2,
      cell: (row) => done(row, (r) => formatRatio(computeSpeedup(r))),
    },
    {
      id: 'energy',
      header: 'energy',
      width: 9,
      align: 'right',
      priority: 1,
      sortKey: 'energy',
      cell: (row) => done(row, (r) => formatEnergyPj(r.energyPj.total)),
    },
    {
      id: 'pjPerMac',
      header: 'pJ/MAC',
      width: 7,
      align: 'right',
      priority: 3,
      sortKey: 'pjPerMac',
      cell: (row) => done(row, (r) => formatPjPerMac(pjPerMac(r))),
    },
  ];
}

/** Space between cells, and the selection marker's width before the first cell. */
export const CELL_GAP = 1;
export const MARKER_WIDTH = 2;
/** The status cell at the end (✓, a percentage, or ·). */
export const STATUS_WIDTH = 5;

export function rowWidth(columns: readonly LayerColumn[]): number {
  return MARKER_WIDTH + columns.reduce((sum, column) => sum + column.width + CELL_GAP, 0) + STATUS_WIDTH;
}

/** Keeps the columns that fit in `width`, most important first, in their display order. */
export function fitColumns(columns: readonly LayerColumn[], width: number): readonly LayerColumn[] {
  const priorities = [...new Set(columns.map((column) => column.priority))].sort((a, b) => b - a);
  let kept = columns;
  for (const priority of priorities) {
    if (rowWidth(kept) <= width) break;
    const fewer = kept.filter((column) => column.priority !== priority);
    // Never drop the last essential columns: a too-narrow terminal truncates instead.
    if (fewer.length === 0 || priority === 0) break;
    kept = fewer;
  }
  return kept;
}

export function padCell(text: string, width: number, align: 'left' | 'right'): string {
  const cut = text.length > width ? `${text.slice(0, Math.max(0, width - 1))}…` : text;
  return align === 'left' ? cut.padEnd(width) : cut.padStart(width);
}
