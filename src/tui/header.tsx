import { Badge } from '@inkjs/ui';
import { Box, Text } from 'ink';
import type { HardwareSummary } from '../core/report.js';
import type { RunState } from './dashboard-state.js';
import { fitParts, formatClock } from './format.js';
import { formatElapsed } from './use-elapsed.js';

/** The hardware in a few words, each a part a narrow line may drop whole. */
export function hardwareParts(hardware: HardwareSummary): readonly string[] {
  return [
    hardware.name,
    `${hardware.rows}×${hardware.cols}`,
    hardware.dataflow.toUpperCase(),
    ...(hardware.precision ? [hardware.precision] : []),
    ...(hardware.clockHz ? [formatClock(hardware.clockHz)] : []),
  ];
}

export function hardwareLine(hardware: HardwareSummary): string {
  return hardwareParts(hardware).join(' ');
}

function baseName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

/** The badge's width on screen (@inkjs/ui pads its label with a space each side). */
const badgeWidth = (label: string): number => label.length + 2;

/**
 * What ran on what (source, model, hardware, backend) and where the run stands. Parts that do not fit
 * the width are dropped whole; `compact` (a short terminal) keeps only the first line.
 */
export function Header({
  run,
  runCount,
  done,
  width,
  elapsedMs,
  compact = false,
}: {
  readonly run: RunState;
  readonly runCount: number;
  /** Every run of the command is done (not just the one shown). */
  readonly done: boolean;
  readonly width: number;
  readonly elapsedMs: number;
  readonly compact?: boolean;
}) {
  const sourceLabel = run.command === 'replay' ? 'trace' : 'topology';
  const sources = run.sources.map(baseName).join(', ');
  const model = run.model ?? '—';
  const backend = run.backend ?? (run.command === 'replay' ? 'sparse replay' : 'dense');
  const title = `deltasim ${run.command}`;
  const badge = done ? 'done' : 'running';
  const status = fitParts(
    [
      '',
      ...(runCount > 1 ? [`run ${run.runIndex + 1}/${runCount}`] : []),
      `${run.layers.length} layers`,
      `${run.steps} ${run.steps === 1 ? 'step' : 'steps'}`,
      formatElapsed(elapsedMs),
    ],
    Math.max(0, width - title.length - 1 - badgeWidth(badge)),
    ' · ',
  ).replace(/^ · /, ' ');
  const details = fitParts(
    [
      `${sourceLabel} ${sources}`,
      `model ${model}`,
      `hardware ${hardwareLine(run.hardware)}`,
      `backend ${backend}`,
    ],
    width,
    ' · ',
  );
  return (
    <Box flexDirection="column">
      <Box>
        <Text bold>{title}</Text>
        <Text> </Text>
        {done ? <Badge color="green">{badge}</Badge> : <Badge color="yellow">{badge}</Badge>}
        <Text dimColor>{status}</Text>
      </Box>
      {compact ? null : <Text wrap="truncate">{details}</Text>}
    </Box>
  );
}
