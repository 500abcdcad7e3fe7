import { Text } from 'ink';
import { truncate } from './format.js';
import { SORT_LABELS, type SortKey } from './layer-metrics.js';

/** The keys that work now, and the active sort. */
export function HelpLine({
  sortKey,
  runCount,
  view,
  interactive,
  done,
  width,
}: {
  readonly sortKey: SortKey;
  readonly runCount: number;
  readonly view: 'layers' | 'compare';
  readonly interactive: boolean;
  readonly done: boolean;
  readonly width: number;
}) {
  if (!interactive) return <Text dimColor>{truncate(`sorted by ${SORT_LABELS[sortKey]}`, width)}</Text>;
  const keys = [
    '↑/↓ j/k select',
    `s sort (${SORT_LABELS[sortKey]})`,
    ...(runCount > 1 ? [view === 'compare' ? 'c layers' : 'c compare', 'tab next run'] : []),
    done ? 'q quit' : 'q stop',
  ];
  return (
    <Text dimColor wrap="truncate">
      {truncate(keys.join(' · '), width)}
    </Text>
  );
}
