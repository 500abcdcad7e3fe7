import { Box, Text } from 'ink';
import type { ReportTotal } from '../core/report.js';
import { isRunDone, type LayerRow, type RunState, runProgressFraction } from './dashboard-state.js';
import {
  formatCount,
  formatEnergyPj,
  formatPercent,
  formatPjPerMac,
  formatRatio,
  truncate,
} from './format.js';
import { hardwareLine } from './header.js';
import { nameWidthFor, padCell } from './layer-columns.js';
import { computeSpeedup, executedShare, pjPerMac, speedup } from './layer-metrics.js';
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
  const lines = total
    ? [
        `cycles   ${formatCount(total.cycles)} (baseline ${formatCount(total.baselineCycles)}, speedup ${formatRatio(speedup(total))}, compute ${formatRatio(computeSpeedup(total))})`,
        `executed ${formatPercent(executedShare(total))} of ${formatCount(total.macs)} MACs`,
        `energy   ${formatEnergyPj(total.energyPj.total)} · ${formatPjPerMac(pjPerMac(total))} pJ/MAC`,
        `stalls   ${formatCount(total.stallCycles)} cycles · util ${formatPercent(total.utilization)}`,
      ]
    : [`running: ${formatPercent(runProgressFraction(run))} of MACs`];
  const inner = Math.max(10, width - 4);
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
        {truncate(`${label}  ${hardwareLine(run.hardware)}`, inner)}
      </Text>
      <Text dimColor wrap="truncate">
        {truncate(run.backend ?? run.command, inner)}
      </Text>
      {lines.map((line) => (
        <Text key={line} wrap="truncate">
          {truncate(line, inner)}
        </Text>
      ))}
    </Box>
  );
}

function ratioCell(a: number | undefined, b: number | undefined): { text: string; color?: string } {
  if (a === undefined || b === undefined || a === 0) return { text: '' };
  const ratio = b / a;
  return {
    text: formatRatio(ratio),
    ...(ratio < 1 ? { color: 'green' } : ratio > 1 ? { color: 'red' } : {}),
  };
}

const columnsFor = (nameWidth: number) => [
  { header: '#', width: 3 },
  { header: 'layer', width: nameWidth },
  { header: 'cycles A', width: 9 },
  { header: 'cycles B', width: 9 },
  { header: 'B/A', width: 7 },
  { header: 'energy A', width: 9 },
  { header: 'energy B', width: 9 },
  { header: 'B/A', width: 7 },
  { header: 'exec A', width: 7 },
  { header: 'exec B', width: 7 },
];

/**
 * Two hardware configurations over the same source (runIndex 0 and 1): their totals side by side,
 * then per layer A, B and B/A (green where B is cheaper).
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
  const position = Math.max(
    0,
    rows.findIndex((row) => row.index === selectedIndex),
  );
  const tableHeight = Math.max(1, height - COMPARE_SUMMARY_HEIGHT - 1);
  const offset = scrollOffset(position, rows.length, tableHeight);
  const visible = rows.slice(offset, offset + tableHeight);
  const nameWidth = nameWidthFor(rows.map((row) => row.name));
  const columns = columnsFor(nameWidth);
  return (
    <Box flexDirection="column">
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
      <Text bold wrap="truncate">
        {'  '}
        {columns
          .map((column, i) => padCell(column.header, column.width, i === 1 ? 'left' : 'right'))
          .join(' ')}
      </Text>
      {visible.map((rowA) => {
        const rowB = runB?.layers[rowA.index];
        const a = rowA.report;
        const b = rowB?.report;
        const cycles = ratioCell(a?.cycles, b?.cycles);
        const energy = ratioCell(a?.energyPj.total, b?.energyPj.total);
        const selected = rowA.index === selectedIndex;
        const cells = [
          padCell(String(rowA.index + 1), 3, 'right'),
          padCell(rowA.name, nameWidth, 'left'),
          padCell(a ? formatCount(a.cycles) : '', 9, 'right'),
          padCell(b ? formatCount(b.cycles) : '', 9, 'right'),
        ];
        return (
          <Box key={rowA.index}>
            <Text inverse={selected} wrap="truncate">
              {selected ? '› ' : '  '}
              {cells.join(' ')}{' '}
            </Text>
            <Text inverse={selected} color={cycles.color}>
              {padCell(cycles.text, 7, 'right')}{' '}
            </Text>
            <Text inverse={selected}>
              {padCell(a ? formatEnergyPj(a.energyPj.total) : '', 9, 'right')}{' '}
              {padCell(b ? formatEnergyPj(b.energyPj.total) : '', 9, 'right')}{' '}
            </Text>
            <Text inverse={selected} color={energy.color}>
              {padCell(energy.text, 7, 'right')}{' '}
            </Text>
            <Text inverse={selected}>
              {padCell(a ? formatPercent(executedShare(a)) : '', 7, 'right')}{' '}
              {padCell(b ? formatPercent(executedShare(b)) : '', 7, 'right')}
            </Text>
          </Box>
        );
      })}
    </Box>
  );
}
