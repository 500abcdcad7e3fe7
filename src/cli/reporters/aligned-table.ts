import { largest } from '../../common/extremes.js';
/** A column of a plain-text table: its heading, and whether its cells are left-aligned (default right). */
export interface TableColumn {
  readonly title: string;
  readonly left?: boolean;
}

/**
 * Lines of a plain-text table: heading, rule, rows, and (if given) a rule and a footer row. Each
 * column is as wide as its widest cell, columns are two spaces apart, trailing blanks trimmed.
 */
export function alignedTable(
  columns: readonly TableColumn[],
  rows: readonly (readonly string[])[],
  footer?: readonly string[],
): string[] {
  const all = footer ? [...rows, footer] : rows;
  const widths = columns.map((c, i) =>
    largest(
      all.map((r) => r[i]!.length),
      c.title.length,
    ),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (columns[i]!.left ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [
    line(columns.map((c) => c.title)),
    rule,
    ...rows.map(line),
    ...(footer ? [rule, line(footer)] : []),
  ];
}
