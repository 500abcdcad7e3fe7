import { Box, Text } from 'ink';
import type { LayerReport, ReportTotal } from '../core/report.js';
import { isRunDone, type LayerRow, type RunState, runProgressFraction } from './dashboard-state.js';
import {
  fitParts,
  formatCount,
  formatEnergyPj,
  formatPercent,
  formatPjPerMac,
  formatRatio,
  truncate,
} from './format.js';
import { hardwareParts } from './header.js';
import {
  CELL_GAP,
  type FittableColumn,
  fitColumns,
  MARKER_WIDTH,
  nameWidthFor,
  padCell,
  STATUS_WIDTH,
} from './layer-columns.js';
import { executedShare, pjPerMac, speedup } from './layer-metrics.js';
import { scrollOffset } from './layer-table.js';

/** Lines the two summary boxes take (border included). */
export const COMPARE_SUMMARY_HEIGHT = 8;

function RunSummary({
  run,
  label,
  width,
}: {
  readonly run: RunState;
  readonly label: string;
  readonly width: number;
}) {
  const total: ReportTotal | undefined = run.report?.total;
  const inner = Math.max(1, width - 4);
  // Each line's figures are parts: one that does not fit is left out whole, never cut.
  const lines = total
    ? [
        [
          'cycles  ',
          formatCount(total.cycles),
          `(dense ${formatCount(total.denseCycles)},`,
          `${formatRatio(speedup(total))})`,
        ],
        ['executed', formatPercent(executedShare(total)), `of ${formatCount(total.macs)} MACs`],
        ['energy  ', formatEnergyPj(total.energyPj.total), `· ${formatPjPerMac(pjPerMac(total))} pJ/MAC`],
        [
          'stalls  ',
          `${formatCount(total.stallCycles)} cycles`,
          `· util ${formatPercent(total.utilization)}`,
        ],
      ]
    : [['running:', `${formatPercent(runProgressFraction(run))} of MACs`]];
  return (
    <Box
      borderStyle="round"
      borderColor={isRunDone(run) ? 'green' : 'yellow'}
      flexDirection="column"
      width={width}
      height={COMPARE_SUMMARY_HEIGHT}
      paddingX={1}
    >
      <Text bold wrap="truncate">
        {fitParts([`${label} `, ...hardwareParts(run.hardware)], inner)}
      </Text>
      <Text dimColor wrap="truncate">
        {truncate(run.backend ?? run.command, inner)}
      </Text>
      {lines.map((parts) => (
        <Text key={parts[0]} wrap="truncate">
          {fitParts(parts, inner)}
        </Text>
      ))}
    </Box>
  );
}

interface Cell {
  readonly text: string;
  readonly color?: string;
}

function ratioCell(a: number | undefined, b: number | undefined): Cell {
  if (a === undefined || b === undefined || a === 0) return { text: '' };
  const ratio = b / a;
  return {
    text: formatRatio(ratio),
    ...(ratio < 1 ? { color: 'green' } : ratio > 1 ? { color: 'red' } : {}),
  };
}

/** A column of the per-layer comparison; low priorities go first on a narrow terminal. */
interface CompareColumn extends FittableColumn {
  readonly header: string;
  readonly align: 'left' | 'right';
  cell(a: LayerRow, b: LayerRow | undefined): Cell;
}

const figure =
  (show: (report: LayerReport) => string, side: 'a' | 'b') =>
  (a: LayerRow, b: LayerRow | undefined): Cell => {
    const report = side === 'a' ? a.report : b?.report;
    return { text: report ? show(report) : '' };
  };

export function compareColumns(nameWidth: number): readonly CompareColumn[] {
  const cycles = (r: LayerReport): string => formatCount(r.cycles);
  const energy = (r: LayerReport): string => formatEnergyPj(r.energyPj.total);
  const executed = (r: LayerReport): string => formatPercent(executedShare(r));
  return [
    {
      id: 'index',
      header: '#',
      width: 3,
      align: 'right',
      priority: 0,
      cell: (a) => ({ text: String(a.index + 1) }),
    },
    {
      id: 'name',
      header: 'layer',
      width: nameWidth,
      align: 'left',
      priority: 0,
      cell: (a) => ({ text: a.name }),
    },
    { id: 'cyclesA', header: 'cycles A', width: 8, align: 'right', priority: 1, cell: figure(cycles, 'a') },
    { id: 'cyclesB', header: 'cycles B', width: 8, align: 'right', priority: 1, cell: figure(cycles, 'b') },
    {
      id: 'cyclesRatio',
      header: 'B/A',
      width: 6,
      align: 'right',
      priority: 1,
      cell: (a, b) => ratioCell(a.report?.cycles, b?.report?.cycles),
    },
    { id: 'energyA', header: 'energy A', width: 8, align: 'right', priority: 2, cell: figure(energy, 'a') },
    { id: 'energyB', header: 'energy B', width: 8, align: 'right', priority: 2, cell: figure(energy, 'b') },
    {
      id: 'energyRatio',
      header: 'B/A',
      width: 6,
      align: 'right',
      priority: 2,
      cell: (a, b) => ratioCell(a.report?.energyPj.total, b?.report?.energyPj.total),
    },
    { id: 'execA', header: 'exec A', width: 6, align: 'right', priority: 3, cell: figure(executed, 'a') },
    { id: 'execB', header: 'exec B', width: 6, align: 'right', priority: 3, cell: figure(executed, 'b') },
  ];
}

/** Narrowest box that shows each summary line's label and first figure. */
const SUMMARY_MIN_WIDTH = 24;

/**
 * Two hardware configurations over the same source (runIndex 0 and 1): their totals side by side
 * (when there is room), then per layer A, B and B/A (green where B is cheaper).
 */
export function CompareView({
  runA,
  runB,
  rows,
  selectedIndex,
  height,
  width,
}: {
  readonly runA: RunState;
  readonly runB: RunState | undefined;
  /** Run A's rows in the active sort order; B's layer of the same index sits beside each. */
  readonly rows: readonly LayerRow[];
  readonly selectedIndex: number;
  readonly height: number;
  readonly width: number;
}) {
  const half = Math.floor((width - 1) / 2);
  const showSummaries = half >= SUMMARY_MIN_WIDTH && height - COMPARE_SUMMARY_HEIGHT - 1 >= 3;
  const position = Math.max(
    0,
    rows.findIndex((row) => row.index === selectedIndex),
  );
  const tableHeight = Math.max(1, height - (showSummaries ? COMPARE_SUMMARY_HEIGHT : 0) - 1);
  const offset = scrollOffset(position, rows.length, tableHeight);
  const visible = rows.slice(offset, offset + tableHeight);
  // Compare rows have no status cell at their end.
  const columns = fitColumns(compareColumns(nameWidthFor(rows.map((row) => row.name))), width, -STATUS_WIDTH);
  const gap = ' '.repeat(CELL_GAP);
  return (
    <Box flexDirection="column">
      {showSummaries ? (
        <Box>
          <RunSummary run={runA} label="A" width={half} />
          <Text> </Text>
          {runB ? (
            <RunSummary run={runB} label="B" width={half} />
          ) : (
            <Box
              width={half}
              height={COMPARE_SUMMARY_HEIGHT}
              borderStyle="round"
              borderColor="gray"
              paddingX={1}
            >
              <Text dimColor>B: waiting for the second run…</Text>
            </Box>
          )}
        </Box>
      ) : null}
      <Text bold wrap="truncate">
        {' '.repeat(MARKER_WIDTH)}
        {columns.map((column) => padCell(column.header, column.width, column.align)).join(gap)}
      </Text>
      {visible.map((rowA) => {
        const rowB = runB?.layers[rowA.index];
        const selected = rowA.index === selectedIndex;
        return (
          <Box key={rowA.index}>
            <Text inverse={selected}>{selected ? '› ' : '  '}</Text>
            {columns.map((column, at) => {
              const cell = column.cell(rowA, rowB);
              return (
                <Text key={column.id} inverse={selected} color={cell.color}>
                  {padCell(cell.text, column.width, column.align)}
                  {at < columns.length - 1 ? gap : ''}
                </Text>
              );
            })}
          </Box>
        );
      })}
    </Box>
  );
}
