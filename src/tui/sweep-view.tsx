import { ProgressBar, Spinner, StatusMessage } from '@inkjs/ui';
import { Box, Static, Text } from 'ink';
import { formatCount, truncate } from './format.js';
import type { SweepObjective } from './sweep-events.js';
import { bestFor, formatParams, paretoFront, type SweepPoint, type SweepState } from './sweep-state.js';
import { useTerminalSize } from './use-terminal-size.js';

/** Pareto points listed in the live area; the rest are counted. */
const FRONT_LINES = 5;

function metricsLine(point: SweepPoint, objectives: readonly SweepObjective[]): string {
  return objectives
    .map((objective) => {
      const value = point.metrics[objective.metric];
      return `${objective.metric} ${value === undefined ? '–' : formatCount(value)}`;
    })
    .join('  ');
}

/**
 * A sweep as it runs (ink's examples/jest pattern): every finished design point printed once above
 * (<Static>, never redrawn, so thousands of points cost nothing), and below it a small live area with
 * progress, the best point per objective and the current Pareto front.
 */
export function SweepView({
  state,
  objectives,
  totalPoints,
}: {
  readonly state: SweepState;
  readonly objectives: readonly SweepObjective[];
  /** Points the sweep will run, when known up front (a progress bar then). */
  readonly totalPoints?: number;
}) {
  const { columns: width } = useTerminalSize();
  const front = paretoFront(state.points, objectives);
  const count = state.points.length;
  return (
    <Box flexDirection="column">
      <Static items={[...state.points]}>
        {(point) => (
          <Text key={point.index} wrap="truncate">
            {truncate(
              `#${String(point.index).padEnd(5)} ${formatParams(point.params)}  →  ${metricsLine(point, objectives)}`,
              width,
            )}
          </Text>
        )}
      </Static>
      <Box flexDirection="column" marginTop={1}>
        {state.done ? (
          <StatusMessage variant="success">
            sweep done: {count} points, {front.length} on the Pareto front
          </StatusMessage>
        ) : totalPoints !== undefined && totalPoints > 0 ? (
          <Box>
            <Box width={30}>
              <Spinner label={`points ${count}/${totalPoints}`} />
            </Box>
            <Box width={Math.max(10, Math.min(40, width - 32))}>
              <ProgressBar value={(count / totalPoints) * 100} />
            </Box>
          </Box>
        ) : (
          <Spinner label={`points ${count}`} />
        )}
        {objectives.map((objective) => {
          const best = bestFor(state.points, objective);
          return (
            <Text key={objective.metric} wrap="truncate">
              {truncate(
                `best ${objective.metric} (${objective.goal}): ${
                  best
                    ? `${formatCount(best.metrics[objective.metric] ?? Number.NaN)}  #${best.index} ${formatParams(best.params)}`
                    : '–'
                }`,
                width,
              )}
            </Text>
          );
        })}
        <Text bold>Pareto front ({front.length})</Text>
        {front.slice(0, FRONT_LINES).map((point) => (
          <Text key={point.index} color="green" wrap="truncate">
            {truncate(
              `  #${point.index} ${formatParams(point.params)}  →  ${metricsLine(point, objectives)}`,
              width,
            )}
          </Text>
        ))}
        {front.length > FRONT_LINES ? <Text dimColor> … {front.length - FRONT_LINES} more</Text> : null}
      </Box>
    </Box>
  );
}
