import { Text } from 'ink';
import { fitParts } from './format.js';
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
  if (!interactive) return <Text dimColor>{fitParts(['sorted by', SORT_LABELS[sortKey]], width)}</Text>;
  // Most needed first: a narrow line drops the keys at its end whole.
  const keys = [
    done ? 'q quit' : 'q stop',
    '↑/↓ j/k select',
    `s sort (${SORT_LABELS[sortKey]})`,
    ...(runCount > 1 ? [view === 'compare' ? 'c layers' : 'c compare', 'tab next run'] : []),
  ];
  return (
    <Text dimColor wrap="truncate">
      {fitParts(keys, width, ' · ')}
    </Text>
  );
}
