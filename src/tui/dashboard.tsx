import { Spinner } from '@inkjs/ui';
import { Box, Text, useApp, useInput } from 'ink';
import { useEffect, useMemo, useState, useSyncExternalStore } from 'react';
import { CompareView } from './compare-view.js';
import { type DashboardState, isRunDone, startedRuns } from './dashboard-state.js';
import type { DashboardStore } from './dashboard-store.js';
import { fitParts } from './format.js';
import { Header } from './header.js';
import { HelpLine } from './help-line.js';
import { fitColumns, layerColumns, nameWidthFor } from './layer-columns.js';
import { DETAIL_HEIGHT, LayerDetail } from './layer-detail.js';
import { activeSkipReasons, nextSortKey, type SortKey, sortRows } from './layer-metrics.js';
import { LayerTable } from './layer-table.js';
import { ProgressPane } from './progress-pane.js';
import { formatElapsed, useElapsedMs } from './use-elapsed.js';
import { isTooSmall, tooSmallLine, useTerminalSize } from './use-terminal-size.js';

export interface DashboardProps {
  readonly store: DashboardStore;
  /** Runs the command will make (`--hw A --hw B` → 2); the header counts against it. */
  readonly expectedRuns: number;
  /** False when there is no keyboard (stdin not a TTY): no key handling, no raw mode. */
  readonly interactive: boolean;
  /** Called when the user quits (q, Esc, Ctrl-C), before the app unmounts. */
  readonly onQuit?: () => void;
  /** Called after each commit with the state it drew (lets the reporter wait for the last frame). */
  readonly onCommit?: (state: DashboardState) => void;
}

/** Lines above and below the table: header 2, progress 2, gap 1, table header 1, help 1. */
const CHROME_LINES = 7;
/** On a short terminal the header's second line and the gap go: header 1, progress 2, table header 1, help 1. */
const COMPACT_CHROME_LINES = 5;
const COMPACT_BELOW_ROWS = 16;
/** The detail pane's three panels need this width to show their figures whole. */
const DETAIL_MIN_WIDTH = 76;
/** Ink redraws in place only while the frame is shorter than the terminal; keep one line spare. */
const SPARE_LINES = 1;
const MIN_TABLE_ROWS_WITH_DETAIL = 3;

export function Dashboard({ store, expectedRuns, interactive, onQuit, onCommit }: DashboardProps) {
  const state = useSyncExternalStore(store.subscribe, store.getSnapshot);
  useEffect(() => onCommit?.(state), [state, onCommit]);
  const { exit } = useApp();
  const size = useTerminalSize();
  const { columns: width, rows: height } = size;
  const [selectedIndex, setSelectedIndex] = useState(0);
  const [sortKey, setSortKey] = useState<SortKey>('order');
  const [view, setView] = useState<'layers' | 'compare'>('layers');
  const [shownRun, setShownRun] = useState(0);

  const runs = startedRuns(state);
  const runCount = Math.max(expectedRuns, runs.length);
  const run = state.runs[shownRun] ?? runs[0];
  const sortedRows = useMemo(() => (run ? sortRows(run.layers, sortKey) : []), [run, sortKey]);

  useInput(
    (input, key) => {
      if (input === 'q' || key.escape || (key.ctrl && input === 'c')) {
        onQuit?.();
        exit();
        return;
      }
      const position = sortedRows.findIndex((row) => row.index === selectedIndex);
      const moveTo = (at: number): void => {
        const row = sortedRows[Math.max(0, Math.min(sortedRows.length - 1, at))];
        if (row) setSelectedIndex(row.index);
      };
      if (key.upArrow || input === 'k') moveTo(position - 1);
      else if (key.downArrow || input === 'j') moveTo(position + 1);
      else if (key.pageUp) moveTo(position - 10);
      else if (key.pageDown) moveTo(position + 10);
      else if (key.home || input === 'g') moveTo(0);
      else if (key.end || input === 'G') moveTo(sortedRows.length - 1);
      else if (input === 's') setSortKey(nextSortKey);
      else if (input === 'c' && runCount > 1) setView((v) => (v === 'layers' ? 'compare' : 'layers'));
      else if (key.tab && runs.length > 1) setShownRun((at) => (at + 1) % runs.length);
    },
    { isActive: interactive },
  );

  const done = runs.length >= runCount && runs.every(isRunDone);
  const elapsedMs = useElapsedMs(!done);

  if (isTooSmall(size)) return <Text>{tooSmallLine(size)}</Text>;
  if (!run) {
    // Before the first run starts (a trace being synthesized or read): say what is happening.
    return (
      <Box flexDirection="column" width={width}>
        <Spinner label={fitParts(['deltasim: starting', formatElapsed(elapsedMs)], width - 2, ' · ')} />
        <Text dimColor>{state.phase ?? ''}</Text>
      </Box>
    );
  }
  const compact = height < COMPACT_BELOW_ROWS;
  const chrome = compact ? COMPACT_CHROME_LINES : CHROME_LINES;
  const usable = Math.max(1, height - chrome - SPARE_LINES);
  const showDetail = width >= DETAIL_MIN_WIDTH && usable - DETAIL_HEIGHT >= MIN_TABLE_ROWS_WITH_DETAIL;
  const tableHeight = showDetail ? usable - DETAIL_HEIGHT : usable;
  const columns = fitColumns(
    layerColumns(activeSkipReasons(run.layers), nameWidthFor(run.layers.map((row) => row.name))),
    width,
  );
  const selectedRow = run.layers[selectedIndex];

  return (
    <Box flexDirection="column" width={width}>
      <Header
        run={run}
        runCount={runCount}
        done={done}
        width={width}
        elapsedMs={elapsedMs}
        compact={compact}
      />
      <ProgressPane run={run} width={width} />
      <Box marginTop={compact ? 0 : 1} flexDirection="column">
        {view === 'compare' ? (
          <CompareView
            runA={state.runs[0] ?? run}
            runB={state.runs[1]}
            rows={sortRows((state.runs[0] ?? run).layers, sortKey)}
            selectedIndex={selectedIndex}
            height={usable + 1}
            width={width}
          />
        ) : (
          <>
            <LayerTable
              rows={sortedRows}
              columns={columns}
              selectedIndex={selectedIndex}
              sortKey={sortKey}
              height={tableHeight}
            />
            {showDetail ? <LayerDetail row={selectedRow} width={width} /> : null}
          </>
        )}
      </Box>
      <HelpLine
        sortKey={sortKey}
        runCount={runCount}
        view={view}
        interactive={interactive}
        done={done}
        width={width}
      />
    </Box>
  );
}
