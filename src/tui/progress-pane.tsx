import { ProgressBar, Spinner } from '@inkjs/ui';
import { Box, Text } from 'ink';
import {
  currentLayer,
  isRunDone,
  layerProgressFraction,
  type RunState,
  runProgressFraction,
} from './dashboard-state.js';
import { formatCount, formatEnergyPj, formatPercent, formatRatio, truncate } from './format.js';
import { computeSpeedup, executedShare, speedup } from './layer-metrics.js';

const LABEL_WIDTH = 26;

/** Overall progress (by MACs) and the layer being computed now; once done, the run's totals. */
export function ProgressPane({ run, width }: { readonly run: RunState; readonly width: number }) {
  const barWidth = Math.max(10, Math.min(50, width - LABEL_WIDTH - 24));
  const done = run.layers.filter((row) => row.status === 'done').length;
  const overall = runProgressFraction(run);
  const current = currentLayer(run);
  const total = run.report?.total;
  return (
    <Box flexDirection="column">
      <Box>
        <Box width={LABEL_WIDTH}>
          {isRunDone(run) ? (
            <Text color="green">✔ all layers done</Text>
          ) : (
            <Spinner label={`layers ${done}/${run.layers.length}`} />
          )}
        </Box>
        <Box width={barWidth}>
          <ProgressBar value={overall * 100} />
        </Box>
        <Text> {formatPercent(overall)} of MACs</Text>
      </Box>
      {total ? (
        <Text wrap="truncate">
          {truncate(
            `total  cycles ${formatCount(total.cycles)} (baseline ${formatCount(total.baselineCycles)}, speedup ${formatRatio(
              speedup(total),
            )}, compute ${formatRatio(computeSpeedup(total))})  executed ${formatPercent(executedShare(total))} of ${formatCount(
              total.macs,
            )} MACs  energy ${formatEnergyPj(total.energyPj.total)}  stalls ${formatCount(total.stallCycles)}`,
            width,
          )}
        </Text>
      ) : current ? (
        <Box>
          <Box width={LABEL_WIDTH}>
            <Text wrap="truncate">
              {truncate(`  ${current.index + 1}. ${current.name}`, LABEL_WIDTH - 1)}
            </Text>
          </Box>
          <Box width={barWidth}>
            <ProgressBar value={layerProgressFraction(current) * 100} />
          </Box>
          <Text>
            {' '}
            {current.progressDone}/{current.progressTotal} {current.progressUnit}
          </Text>
        </Box>
      ) : (
        <Text dimColor>waiting for the next layer…</Text>
      )}
    </Box>
  );
}
