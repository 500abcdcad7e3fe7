import { Box, Text } from 'ink';
import type { LayerRow } from './dashboard-state.js';
import { formatPercent } from './format.js';
import { CELL_GAP, type LayerColumn, MARKER_WIDTH, padCell, STATUS_WIDTH } from './layer-columns.js';
import type { SortKey } from './layer-metrics.js';

/** First visible row so that `position` is on screen, kept near the middle while scrolling. */
export function scrollOffset(position: number, rowCount: number, height: number): number {
  if (rowCount <= height) return 0;
  const centred = position - Math.floor(height / 2);
  return Math.max(0, Math.min(rowCount - height, centred));
}

function statusCell(row: LayerRow): string {
  if (row.status === 'done') return '✓';
  if (row.status === 'pending') return '·';
  return row.progressTotal > 0
    ? formatPercent(row.progressDone / row.progressTotal).replace('.0%', '%')
    : '…';
}

/**
 * The layer table: one line per layer, only `height` of them visible (scrolled to the selection),
 * the active sort column's header marked with ▼.
 */
export function LayerTable({
  rows,
  columns,
  selectedIndex,
  sortKey,
  height,
}: {
  readonly rows: readonly LayerRow[];
  readonly columns: readonly LayerColumn[];
  readonly selectedIndex: number;
  readonly sortKey: SortKey;
  readonly height: number;
}) {
  const position = Math.max(
    0,
    rows.findIndex((row) => row.index === selectedIndex),
  );
  const offset = scrollOffset(position, rows.length, height);
  const visible = rows.slice(offset, offset + height);
  const gap = ' '.repeat(CELL_GAP);
  const header = columns
    .map((column) => {
      const label = column.sortKey === sortKey && sortKey !== 'order' ? `${column.header}▼` : column.header;
      return padCell(label, column.width, column.align);
    })
    .join(gap);
  const above = offset;
  const below = rows.length - offset - visible.length;
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate">
        {' '.repeat(MARKER_WIDTH)}
        {header}
        {gap}
        {padCell(above > 0 ? `↑${above}` : '', STATUS_WIDTH, 'right')}
      </Text>
      {visible.map((row, at) => {
        const selected = row.index === selectedIndex;
        const line = columns.map((column) => padCell(column.cell(row), column.width, column.align)).join(gap);
        const last = at === visible.length - 1 && below > 0;
        return (
          <Text
            key={row.index}
            wrap="truncate"
            inverse={selected}
            dimColor={!selected && row.status === 'pending'}
            color={row.status === 'running' ? 'yellow' : undefined}
          >
            {selected ? '› ' : '  '}
            {line}
            {gap}
            {padCell(last ? `↓${below}` : statusCell(row), STATUS_WIDTH, 'right')}
          </Text>
        );
      })}
    </Box>
  );
}
