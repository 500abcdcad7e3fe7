import { largest } from '../common/extremes.js';
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
export interface LayerColumn extends FittableColumn {
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
  return Math.max(
    NAME_WIDTH_MIN,
    Math.min(
      NAME_WIDTH_MAX,
      largest(
        names.map((name) => name.length),
        0,
      ),
    ),
  );
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

/** What fitting needs of a column (the layer table's and the compare view's). */
export interface FittableColumn {
  readonly id: string;
  readonly width: number;
  readonly priority: number;
}

export function rowWidth(columns: readonly FittableColumn[]): number {
  return MARKER_WIDTH + columns.reduce((sum, column) => sum + column.width + CELL_GAP, 0) + STATUS_WIDTH;
}

/** The name column gives way down to this before a terminal counts as too small. */
export const NAME_WIDTH_FLOOR = 6;

/**
 * Keeps the columns that fit in `width`, in their display order: the name column first narrows to
 * NAME_WIDTH_MIN, then whole columns go one at a time, lowest priority first and the rightmost of a
 * priority first (a figure is never cut); when only priority 0 is left, the name narrows further
 * (names are cut with an ellipsis, figures never).
 */
export function fitColumns<C extends FittableColumn>(
  columns: readonly C[],
  width: number,
  extraWidth = 0,
): readonly C[] {
  const askedName = columns.find((column) => column.id === 'name')?.width ?? 0;
  const withName = (kept: readonly C[], nameWidth: number): readonly C[] =>
    kept.map((column) =>
      column.id === 'name' ? { ...column, width: Math.min(askedName, nameWidth) } : column,
    );
  const fits = (kept: readonly C[]): boolean => rowWidth(kept) + extraWidth <= width;
  if (fits(columns)) return columns;
  let kept = withName(columns, NAME_WIDTH_MIN);
  while (!fits(kept)) {
    const lowest = largest(kept.map((column) => column.priority));
    if (lowest === 0) break;
    const drop = kept.findLastIndex((column) => column.priority === lowest);
    kept = kept.filter((_, at) => at !== drop);
  }
  const excess = rowWidth(kept) + extraWidth - width;
  if (excess <= 0) {
    // Room left over goes back to the name, up to the width it asked for.
    return withName(kept, NAME_WIDTH_MIN - excess);
  }
  return withName(kept, Math.max(NAME_WIDTH_FLOOR, NAME_WIDTH_MIN - excess));
}

export function padCell(text: string, width: number, align: 'left' | 'right'): string {
  const cut = text.length > width ? `${text.slice(0, Math.max(0, width - 1))}…` : text;
  return align === 'left' ? cut.padEnd(width) : cut.padStart(width);
}
