import { ProgressBar, Spinner } from '@inkjs/ui';
import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import {
  currentLayer,
  isRunDone,
  layerProgressFraction,
  type RunState,
  runProgressFraction,
} from './dashboard-state.js';
import { fitParts, formatCount, formatEnergyPj, formatPercent, formatRatio, truncate } from './format.js';
import { executedShare, speedup } from './layer-metrics.js';

const LABEL_WIDTH = 26;
/** The percentage after a bar: " 100.0% of MACs". */
const PERCENT_WIDTH = 15;
/** Narrower than label + a 10-cell bar + percentage: the bars go, the figures stay whole. */
const MIN_BAR_LAYOUT_WIDTH = LABEL_WIDTH + 10 + PERCENT_WIDTH;

/** Overall progress (by MACs) and the layer being computed now; once done, the run's totals. */
export function ProgressPane({ run, width }: { readonly run: RunState; readonly width: number }) {
  const withBars = width >= MIN_BAR_LAYOUT_WIDTH;
  const barWidth = Math.max(10, Math.min(50, width - LABEL_WIDTH - 24));
  const done = run.layers.filter((row) => row.status === 'done').length;
  const overall = runProgressFraction(run);
  const current = currentLayer(run);
  const total = run.report?.total;
  const layersLabel = isRunDone(run) ? 'all layers done' : `layers ${done}/${run.layers.length}`;
  const overallLine = withBars ? (
    <Box>
      <Box width={LABEL_WIDTH}>
        {isRunDone(run) ? <Text color="green">✔ {layersLabel}</Text> : <Spinner label={layersLabel} />}
      </Box>
      <Box width={barWidth}>
        <ProgressBar value={overall * 100} />
      </Box>
      <Text> {formatPercent(overall)} of MACs</Text>
    </Box>
  ) : (
    <Box>
      {isRunDone(run) ? (
        <Text color="green">{fitParts(['✔', layersLabel], width)}</Text>
      ) : (
        <Spinner label={fitParts([layersLabel, `· ${formatPercent(overall)} of MACs`], width - 2)} />
      )}
    </Box>
  );
  let second: ReactNode;
  if (total) {
    second = (
      <Text wrap="truncate">
        {fitParts(
          [
            'total ',
            `cycles ${formatCount(total.cycles)}`,
            `(dense ${formatCount(total.denseCycles)}, ${formatRatio(speedup(total))}) `,
            `executed ${formatPercent(executedShare(total))} of ${formatCount(total.macs)} MACs `,
            `energy ${formatEnergyPj(total.energyPj.total)} `,
            `stalls ${formatCount(total.stallCycles)}`,
          ],
          width,
        )}
      </Text>
    );
  } else if (current) {
    const label = `  ${current.index + 1}. ${current.name}`;
    // Until its first progress event a layer has no total yet: say nothing rather than "0/0".
    const count =
      current.progressTotal > 0
        ? ` ${current.progressDone}/${current.progressTotal} ${current.progressUnit}`
        : '';
    second = withBars ? (
      <Box>
        <Box width={LABEL_WIDTH}>
          <Text wrap="truncate">{truncate(label, LABEL_WIDTH - 1)}</Text>
        </Box>
        <Box width={barWidth}>
          <ProgressBar value={layerProgressFraction(current) * 100} />
        </Box>
        <Text>{count}</Text>
      </Box>
    ) : (
      <Text wrap="truncate">
        {width - count.length >= 6
          ? `${truncate(label, width - count.length)}${count}`
          : truncate(label, width)}
      </Text>
    );
  } else {
    second = <Text dimColor>{truncate('waiting for the next layer…', width)}</Text>;
  }
  return (
    <Box flexDirection="column">
      {overallLine}
      {second}
    </Box>
  );
}
