import { largest } from '../common/extremes.js';

/**
 * One-line and few-line character charts (sparkline, histogram columns). @inkjs/ui has bars but no
 * sparkline or column chart, so these two are drawn from block characters here.
 */
const LEVELS = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'] as const;

/** Averages `values` into at most `width` buckets, keeping their order. */
export function downsample(values: readonly number[], width: number): readonly number[] {
  if (width <= 0) return [];
  if (values.length <= width) return values;
  const buckets: number[] = [];
  for (let b = 0; b < width; b++) {
    const from = Math.floor((b * values.length) / width);
    const to = Math.floor(((b + 1) * values.length) / width);
    let sum = 0;
    for (let i = from; i < to; i++) sum += values[i] ?? 0;
    buckets.push(sum / Math.max(1, to - from));
  }
  return buckets;
}

/** Values in [min, max] as one line of eighth-blocks; a value at min still shows a sliver. */
export function sparkline(values: readonly number[], width: number, min = 0, max = 1): string {
  const span = max - min;
  return downsample(values, width)
    .map((value) => {
      const level = span > 0 ? (value - min) / span : 1;
      const index = Math.round(Math.min(1, Math.max(0, level)) * (LEVELS.length - 2)) + 1;
      return LEVELS[index] ?? '█';
    })
    .join('');
}

/**
 * Counts as `height` lines of columns, top line first, each column `columnWidth` wide and scaled to
 * the largest count; a non-zero count always shows at least an eighth.
 */
export function columnChart(counts: readonly number[], height: number, columnWidth = 1): readonly string[] {
  const top = largest(counts, 0);
  const eighths = counts.map((count) =>
    top === 0 || count <= 0 ? 0 : Math.max(1, Math.round((count / top) * height * 8)),
  );
  const lines: string[] = [];
  for (let line = height - 1; line >= 0; line--) {
    lines.push(
      eighths
        .map((filled) => {
          const inLine = Math.min(8, Math.max(0, filled - line * 8));
          return (LEVELS[inLine] ?? ' ').repeat(columnWidth);
        })
        .join(''),
    );
  }
  return lines;
}
