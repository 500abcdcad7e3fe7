import { ProgressBar } from '@inkjs/ui';
import { Box, Text } from 'ink';
import { largest, smallest } from '../common/extremes.js';
import { ENERGY_COMPONENTS, type EnergyComponent, type EnergyPj } from '../core/report.js';
import type { LayerRow } from './dashboard-state.js';
import { fitParts, formatCount, formatEnergyPj, formatPercent, formatPjPerMac, truncate } from './format.js';
import { executedShare, pjPerMac } from './layer-metrics.js';
import { columnChart, downsample } from './sparkline.js';

/** Lines inside the detail pane's border; the app reserves this plus the border. */
export const DETAIL_CONTENT_LINES = 8;
export const DETAIL_HEIGHT = DETAIL_CONTENT_LINES + 2;

const ENERGY_LABELS: Readonly<Record<EnergyComponent, string>> = {
  mac: 'MAC',
  gatedMac: 'gated MAC',
  register: 'register',
  sram: 'SRAM',
  dram: 'DRAM',
  metadata: 'metadata',
  deltaState: 'delta state',
  leakage: 'leakage',
  vector: 'vector unit',
};

/** Charged components, largest first; "not modelled" ones (absent) are left out. */
export function energyComponents(energy: EnergyPj): readonly { label: string; energyPj: number }[] {
  return ENERGY_COMPONENTS.flatMap((key) => {
    const value = energy[key];
    return value === undefined ? [] : [{ label: ENERGY_LABELS[key], energyPj: value }];
  }).sort((a, b) => b.energyPj - a.energyPj);
}

/** Mean of a histogram whose n bins split [0, 1] evenly, each bin counted at its centre. */
export function histogramMean(bins: readonly number[]): number {
  const count = bins.reduce((sum, value) => sum + value, 0);
  if (count === 0) return Number.NaN;
  return bins.reduce((sum, value, i) => sum + value * ((i + 0.5) / bins.length), 0) / count;
}

function EnergyBars({ row, width }: { readonly row: LayerRow; readonly width: number }) {
  const report = row.report;
  if (!report) return <Text dimColor>energy: when the layer is done</Text>;
  const components = energyComponents(report.energyPj);
  // Title and heading take two lines; beyond that the smallest components fold into "other".
  const room = DETAIL_CONTENT_LINES - 2;
  const shown =
    components.length <= room
      ? components
      : [
          ...components.slice(0, room - 1),
          {
            label: 'other',
            energyPj: components.slice(room - 1).reduce((sum, component) => sum + component.energyPj, 0),
          },
        ];
  const barWidth = Math.max(4, width - 12 - 16);
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate">
        {fitParts(
          ['energy', formatEnergyPj(report.energyPj.total), `· ${formatPjPerMac(pjPerMac(report))} pJ/MAC`],
          width,
        )}
      </Text>
      {shown.length === 0 ? <Text dimColor>no breakdown reported</Text> : null}
      {shown.map((component) => {
        const share = report.energyPj.total > 0 ? component.energyPj / report.energyPj.total : 0;
        return (
          <Box key={component.label}>
            <Box width={12}>
              <Text>{component.label}</Text>
            </Box>
            <Box width={barWidth}>
              <ProgressBar value={share * 100} />
            </Box>
            <Text>
              {formatPercent(share).padStart(7)} {formatEnergyPj(component.energyPj).padStart(8)}
            </Text>
          </Box>
        );
      })}
    </Box>
  );
}

function SparsityStrip({ row, width }: { readonly row: LayerRow; readonly width: number }) {
  const fractions = row.executedFractions;
  const header = (
    <Text bold wrap="truncate">
      {fitParts(['executed per step', `(${fractions.length})`], width)}
    </Text>
  );
  if (fractions.length === 0) {
    const parts = row.report
      ? ['no per-step data,', `${formatPercent(executedShare(row.report))} overall`]
      : ['no per-step data'];
    return (
      <Box flexDirection="column">
        {header}
        <Text dimColor wrap="truncate">
          {fitParts(parts, width)}
        </Text>
      </Box>
    );
  }
  const chartWidth = Math.max(1, width - 1);
  const sampled = downsample(fractions, chartWidth);
  // Few steps get wider columns so the strip is readable; many are averaged down to the width.
  const columnWidth = Math.max(1, Math.min(4, Math.floor(chartWidth / sampled.length)));
  const drawnWidth = sampled.length * columnWidth;
  // Scaled to 1, not to the largest value: the height reads as the executed share itself.
  const lines = columnChart([...sampled, 1], 4, columnWidth).map((line) => line.slice(0, drawnWidth));
  const min = smallest(fractions);
  const max = largest(fractions);
  const mean = fractions.reduce((sum, value) => sum + value, 0) / fractions.length;
  return (
    <Box flexDirection="column">
      {header}
      {lines.map((line, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: chart lines have no identity but their place
        <Text key={i} color="cyan">
          {line}
        </Text>
      ))}
      <Text dimColor wrap="truncate">
        {truncate(
          fractions.length === 1
            ? 'step 1'
            : `step 1${String(fractions.length).padStart(Math.max(1, drawnWidth - 6))}`,
          width,
        )}
      </Text>
      <Text wrap="truncate">
        {fitParts(
          ['mean', formatPercent(mean), `min ${formatPercent(min)}`, `max ${formatPercent(max)}`],
          width,
        )}
      </Text>
    </Box>
  );
}

function LaneHistogram({ row, width }: { readonly row: LayerRow; readonly width: number }) {
  const bins = row.report?.laneWorkHistogram;
  const header = (
    <Text bold wrap="truncate">
      {truncate('lane work / busiest lane', width)}
    </Text>
  );
  if (!bins || bins.length === 0) {
    return (
      <Box flexDirection="column">
        {header}
        <Text dimColor wrap="truncate">
          {truncate(row.report ? 'not measured (dense run)' : 'when the layer is done', width)}
        </Text>
      </Box>
    );
  }
  const columnWidth = Math.max(1, Math.min(3, Math.floor(width / bins.length)));
  const chartWidth = columnWidth * bins.length;
  const lines = columnChart(bins, 4, columnWidth);
  const lanes = bins.reduce((sum, value) => sum + value, 0);
  return (
    <Box flexDirection="column">
      {header}
      {lines.map((line, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: chart lines have no identity but their place
        <Text key={i} color="magenta">
          {line}
        </Text>
      ))}
      <Text dimColor>{`0%${'100%'.padStart(Math.max(4, chartWidth - 2))}`}</Text>
      <Text wrap="truncate">
        {fitParts([`${formatCount(lanes)} lane·folds,`, `mean ${formatPercent(histogramMean(bins))}`], width)}
      </Text>
    </Box>
  );
}

/** The selected layer: energy by component as bars, executed share per step, lane balance. */
export function LayerDetail({ row, width }: { readonly row: LayerRow | undefined; readonly width: number }) {
  const inner = Math.max(20, width - 4);
  const energyWidth = Math.min(56, Math.floor(inner * 0.45));
  const rest = inner - energyWidth - 2;
  const stripWidth = Math.floor(rest * 0.55);
  const histogramWidth = rest - stripWidth - 2;
  return (
    <Box
      borderStyle="round"
      borderColor="gray"
      flexDirection="column"
      height={DETAIL_HEIGHT}
      width={width}
      paddingX={1}
      overflow="hidden"
    >
      {row ? (
        <Box flexDirection="row">
          <Box width={energyWidth} flexDirection="column" marginRight={2}>
            <Text wrap="truncate" color="cyan">
              {fitParts(
                [`${row.index + 1}. ${row.name}`, `(${row.op},`, `${formatCount(row.macs)} MACs)`],
                energyWidth,
              )}
            </Text>
            <EnergyBars row={row} width={energyWidth} />
          </Box>
          <Box width={stripWidth} flexDirection="column" marginRight={2}>
            <SparsityStrip row={row} width={stripWidth} />
          </Box>
          <Box width={histogramWidth} flexDirection="column">
            <LaneHistogram row={row} width={histogramWidth} />
          </Box>
        </Box>
      ) : (
        <Text dimColor>no layer selected</Text>
      )}
    </Box>
  );
}
