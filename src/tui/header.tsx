import { Badge } from '@inkjs/ui';
import { Box, Text } from 'ink';
import type { HardwareSummary } from '../core/report.js';
import type { RunState } from './dashboard-state.js';
import { formatClock, truncate } from './format.js';

export function hardwareLine(hardware: HardwareSummary): string {
  const parts = [
    hardware.name,
    `${hardware.rows}×${hardware.cols}`,
    hardware.dataflow.toUpperCase(),
    ...(hardware.precision ? [hardware.precision] : []),
    ...(hardware.clockHz ? [formatClock(hardware.clockHz)] : []),
  ];
  return parts.join(' ');
}

function baseName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

/** Two lines: what ran on what (source, model, hardware, backend) and where the run stands. */
export function Header({
  run,
  runCount,
  done,
  width,
}: {
  readonly run: RunState;
  readonly runCount: number;
  /** Every run of the command is done (not just the one shown). */
  readonly done: boolean;
  readonly width: number;
}) {
  const sourceLabel = run.command === 'replay' ? 'trace' : 'topology';
  const sources = run.sources.map(baseName).join(', ');
  const model = run.model ?? '—';
  const backend = run.backend ?? (run.command === 'replay' ? 'sparse replay' : 'dense');
  const details = `${sourceLabel} ${sources} · model ${model} · hardware ${hardwareLine(run.hardware)} · backend ${backend}`;
  return (
    <Box flexDirection="column">
      <Box>
        <Text bold>deltasim {run.command}</Text>
        <Text> </Text>
        {done ? <Badge color="green">done</Badge> : <Badge color="yellow">running</Badge>}
        {runCount > 1 ? (
          <Text>
            {' '}
            run {run.runIndex + 1}/{runCount}
          </Text>
        ) : null}
        <Text dimColor>
          {' '}
          · {run.layers.length} layers · {run.steps} {run.steps === 1 ? 'step' : 'steps'}
        </Text>
      </Box>
      <Text wrap="truncate">{truncate(details, width)}</Text>
    </Box>
  );
}
